//! The Confluent wire format of a record on the bus: magic byte, schema id, Avro body.

use super::CodecError;

/// Frames an Avro body in the Confluent wire format: magic byte 0, the schema id as 4
/// big-endian bytes, then the body.
pub fn frame(schema_id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + body.len());
    out.push(0);
    out.extend_from_slice(&schema_id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Splits a Confluent-framed record into schema id and body.
pub fn unframe(bytes: &[u8]) -> Result<(u32, &[u8]), CodecError> {
    match bytes {
        [0, a, b, c, d, body @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), body)),
        [magic, ..] if bytes.len() >= 5 => {
            Err(CodecError::Framing(format!("magic byte is {magic}, not 0")))
        }
        _ => Err(CodecError::Framing(format!(
            "{} bytes is shorter than the 5-byte header",
            bytes.len()
        ))),
    }
}
