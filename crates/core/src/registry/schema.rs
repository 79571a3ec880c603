//! A schema as registered: parsed (with the named types of its references), kept as the
//! client wrote it, and identified by a fingerprint that ignores spelling.

use apache_avro::Schema;

use super::{RegistryError, Resolved, SchemaReference};

mod defaults;
mod guard;

/// Parses `text` (with the texts of the schemas it references, dependencies first) and
/// returns it resolved, with its text as it will be stored and returned: compact JSON,
/// keys in the order the client wrote them.
pub fn normalise(
    subject: &str,
    text: &str,
    refs: &[String],
) -> Result<(Resolved, String), RegistryError> {
    let mut json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| RegistryError::invalid(subject, e))?;
    let mut ref_json = refs
        .iter()
        .map(|r| serde_json::from_str(r))
        .collect::<Result<Vec<serde_json::Value>, _>>()
        .map_err(|e| RegistryError::invalid(subject, e))?;
    // Field defaults are judged by Avro Java's rules (`defaults`), not apache-avro's.
    let mut detached = guard::detach(&mut json);
    for r in &mut ref_json {
        detached.extend(guard::detach(r));
    }
    let (schema, mut refs) = if refs.is_empty() {
        (Schema::parse(&json), Vec::new())
    } else {
        let texts: Vec<String> = ref_json.iter().map(|r| r.to_string()).collect();
        match Schema::parse_str_with_list(&json.to_string(), texts) {
            Ok((schema, refs)) => (Ok(schema), refs),
            Err(e) => (Err(e), Vec::new()),
        }
    };
    let mut schema = schema.map_err(|e| RegistryError::invalid(subject, e))?;
    guard::reattach(&mut schema, &detached);
    for r in &mut refs {
        guard::reattach(r, &detached);
    }
    defaults::check(&mut schema, &mut refs).map_err(|e| RegistryError::invalid(subject, e))?;
    Ok((Resolved { schema, refs }, compact(text)))
}

/// What makes two registrations the same schema: its JSON with sorted keys (so spacing
/// and key order do not count), and its references.
pub fn fingerprint(text: &str, references: &[SchemaReference]) -> String {
    let sorted = serde_json::from_str::<serde_json::Value>(text)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| text.to_owned());
    if references.is_empty() {
        return sorted;
    }
    let refs = serde_json::to_string(references).unwrap_or_default();
    format!("{sorted} references {refs}")
}

/// Confluent's rule: no control characters, and not one of its reserved names.
pub fn valid_subject(subject: &str) -> Result<(), RegistryError> {
    let control = |c: char| matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}');
    if subject.chars().any(control) || matches!(subject, "__GLOBAL" | "__EMPTY") {
        return Err(RegistryError::InvalidSubject(
            subject.escape_debug().to_string(),
        ));
    }
    Ok(())
}

/// JSON text without the whitespace between tokens (the text must be valid JSON).
fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_is_kept_as_written_without_its_spacing() {
        let text = "{ \"type\" : \"record\", \"name\":\"T\",\n \"fields\": [{\"name\": \"a b\\\" c\", \"type\": \"int\"}]}";
        assert_eq!(
            compact(text),
            r#"{"type":"record","name":"T","fields":[{"name":"a b\" c","type":"int"}]}"#
        );
    }

    #[test]
    fn key_order_and_spacing_do_not_change_the_fingerprint_but_references_do() {
        let a = r#"{"type":"record","name":"T","fields":[]}"#;
        let b = r#"{ "name":"T", "fields":[], "type":"record" }"#;
        assert_eq!(fingerprint(a, &[]), fingerprint(b, &[]));
        let r = SchemaReference {
            name: "U".into(),
            subject: "u".into(),
            version: 1,
        };
        assert_ne!(fingerprint(a, &[]), fingerprint(a, &[r]));
    }

    #[test]
    fn subjects_with_control_characters_are_refused() {
        assert!(valid_subject("orders-OrderCreated").is_ok());
        for bad in ["a\u{0}b", "tab\there", "\u{7f}", "__GLOBAL"] {
            assert_eq!(
                valid_subject(bad).unwrap_err().error_code(),
                42208,
                "{bad:?}"
            );
        }
    }
}
