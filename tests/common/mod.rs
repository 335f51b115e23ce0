//! Helpers shared by the integration tests.

use std::path::Path;

/// Writes a CSV export's rows as a Parquet file of text columns (an empty field is a null), with
/// `row_group` rows per row group (`None`: all in one).
pub fn csv_to_parquet(text: &str, delimiter: u8, row_group: Option<usize>, target: &Path) {
    use polars::prelude::*;
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(text.as_bytes());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let columns: Vec<Column> = headers
        .iter()
        .enumerate()
        .map(|(j, h)| {
            let v: Vec<Option<&str>> = rows.iter().map(|r| r.get(j).filter(|s| !s.is_empty())).collect();
            Series::new(h.as_str().into(), v).into_column()
        })
        .collect();
    let mut df = DataFrame::new(rows.len(), columns).unwrap();
    let mut f = std::fs::File::create(target).unwrap();
    ParquetWriter::new(&mut f).with_row_group_size(Some(row_group.unwrap_or(rows.len()).max(1))).finish(&mut df).unwrap();
}
