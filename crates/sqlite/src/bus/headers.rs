//! Record headers in a column: each as name length (u16), name, value length (u32),
//! value, all big-endian.

pub fn encode(headers: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(u16::MAX as usize)];
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value);
    }
    out
}

pub fn decode(mut bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 2 {
        let n = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
        let Some(name) = bytes.get(2..2 + n) else {
            break;
        };
        let rest = &bytes[2 + n..];
        let Some(len) = rest.get(..4) else { break };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(value) = rest.get(4..4 + len) else {
            break;
        };
        out.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
        bytes = &rest[4 + len..];
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn headers_round_trip() {
        let h = vec![
            ("error".to_owned(), b"bad".to_vec()),
            ("x".to_owned(), vec![]),
        ];
        assert_eq!(super::decode(&super::encode(&h)), h);
    }
}
