//! Subjects of three versions built from the ported schemas
//! (`crates/core/tests/compat/transitive.json`): each step from one version to the next
//! passes a level, the oldest and the newest do not, so the level's transitive form
//! refuses what the plain one accepts.

use serde::Deserialize;
use serde_json::Value;

use super::{Verdicts, run_at_every_level};
use crate::support::*;

#[derive(Debug, Deserialize)]
struct Chains {
    cases: Vec<Chain>,
}

#[derive(Debug, Deserialize)]
struct Chain {
    name: String,
    /// The transitive level that refuses the newest version.
    breaks: String,
    previous: Vec<Value>,
    new: Value,
    avro_java: Verdicts,
}

#[tokio::test]
async fn a_transitive_level_refuses_a_version_that_breaks_an_older_one_only() -> TestResult {
    let chains: Chains = serde_json::from_str(include_str!(
        "../../../../../core/tests/compat/transitive.json"
    ))?;
    let mut wrong = Vec::new();
    for chain in &chains.cases {
        let plain = chain.breaks.trim_end_matches("_TRANSITIVE");
        assert!(chain.previous.len() >= 2, "{}", chain.name);
        assert_eq!(
            (
                chain.avro_java.get(plain),
                chain.avro_java.get(&chain.breaks)
            ),
            (Some(&true), Some(&false)),
            "{}: Avro Java's verdicts do not make a transitive case",
            chain.name
        );
        wrong.extend(
            run_at_every_level(&chain.name, &chain.previous, &chain.new, &chain.avro_java).await?,
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    Ok(())
}
