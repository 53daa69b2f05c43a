//! The Parquet form of a partner export: one row group, every column a required UTF-8 string.
use super::Row;
use crate::error::CmpError;
use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::sync::Arc;

fn err(e: impl std::fmt::Display) -> CmpError {
    CmpError::Export(format!("parquet: {e}"))
}

/// Writes `pseudonym` and then `columns`, in that order, for every row.
pub fn write(columns: &[&str], rows: &[Row]) -> Result<Vec<u8>, CmpError> {
    let mut message = String::from("message customer {\n  REQUIRED BYTE_ARRAY pseudonym (UTF8);\n");
    for c in columns {
        message.push_str(&format!("  REQUIRED BYTE_ARRAY {c} (UTF8);\n"));
    }
    message.push('}');
    let schema = Arc::new(parse_message_type(&message).map_err(err)?);
    let props = Arc::new(WriterProperties::builder().set_created_by("gamma-airways-cmp".into()).build());
    let mut buf = Vec::new();
    {
        let mut writer = SerializedFileWriter::new(&mut buf, schema, props).map_err(err)?;
        let mut group = writer.next_row_group().map_err(err)?;
        let mut index = 0;
        while let Some(mut col) = group.next_column().map_err(err)? {
            let values: Vec<ByteArray> = rows
                .iter()
                .map(|r| {
                    let v = if index == 0 {
                        r.pseudonym.as_str()
                    } else {
                        r.fields.get(columns[index - 1]).map(String::as_str).unwrap_or_default()
                    };
                    ByteArray::from(v)
                })
                .collect();
            col.typed::<ByteArrayType>().write_batch(&values, None, None).map_err(err)?;
            col.close().map_err(err)?;
            index += 1;
        }
        group.close().map_err(err)?;
        writer.close().map_err(err)?;
    }
    Ok(buf)
}
