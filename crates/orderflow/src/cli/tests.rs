//! Each subcommand takes the flags it uses and refuses the others, and says what it
//! needs when something is missing.

use clap::CommandFactory;
use clap::error::ErrorKind;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("orderflow").chain(args.iter().copied()))
}

/// `command` followed by `flag` is refused as an argument the command does not have.
fn refuses(command: &[&str], flag: &[&str]) -> TestResult {
    let args: Vec<&str> = command.iter().chain(flag).copied().collect();
    match parse(&args) {
        Err(e) if e.kind() == ErrorKind::UnknownArgument => Ok(()),
        Err(e) => Err(format!("{args:?} refused for another reason: {e}").into()),
        Ok(cli) => Err(format!("{args:?} accepted: {cli:?}").into()),
    }
}

fn accepts(args: &[&str]) -> TestResult {
    parse(args).map_err(|e| format!("{args:?} refused: {e}"))?;
    Ok(())
}

const MIGRATE: &[&str] = &["migrate"];
const SCHEMA_CHECK: &[&str] = &["schema", "check"];
const CONSUMERS: &[&str] = &["consumers"];
const REPLAY: &[&str] = &["replay", "--group", "analytics", "--from-beginning"];
const TOPICS_CREATE: &[&str] = &["topics", "create"];
const TOPICS_DESCRIBE: &[&str] = &["topics", "describe"];

/// What only the services use: the API, the payment provider, mail, the registry,
/// consumers' retries.
const SERVICE_FLAGS: &[&[&str]] = &[
    &["--http", "127.0.0.1:0"],
    &["--tokens", "tokens.txt"],
    &["--allow-unauthenticated"],
    &["--max-body-bytes", "10"],
    &["--smtp", "smtp://localhost"],
    &["--payment-latency-ms", "5"],
    &["--payment-decline-above", "5"],
    &["--payment-failure-rate", "0.5"],
    &["--schema-registry", "http://localhost:8081"],
    &["--give-up-after-seconds", "1"],
    &["--shutdown-grace-seconds", "1"],
    &["--discard-derived-data"],
    &["--db-max-connections", "2"],
];

const STORE_FLAGS: &[&[&str]] = &[
    &["--store", "postgres://localhost/db"],
    &["--db-acquire-timeout-ms", "5"],
];

const BUS_FLAGS: &[&[&str]] = &[
    &["--bus", "kafka://localhost:9092"],
    &["--kafka-properties", "kafka.properties"],
    &["--topic-partitions", "3"],
    &["--topic-replication-factor", "1"],
    &["--topic-retention-hours", "1"],
    &["--topic-prefix", "p-"],
];

#[test]
fn the_command_tree_is_well_formed() -> TestResult {
    Cli::command().debug_assert();
    Ok(())
}

#[test]
fn the_tools_refuse_the_flags_only_services_use() -> TestResult {
    for command in [
        MIGRATE,
        SCHEMA_CHECK,
        CONSUMERS,
        REPLAY,
        TOPICS_CREATE,
        TOPICS_DESCRIBE,
    ] {
        for flag in SERVICE_FLAGS {
            refuses(command, flag)?;
        }
    }
    Ok(())
}

#[test]
fn the_store_commands_refuse_the_bus_flags_and_take_the_store_ones() -> TestResult {
    for command in [MIGRATE, SCHEMA_CHECK] {
        for flag in BUS_FLAGS {
            refuses(command, flag)?;
        }
        for flag in STORE_FLAGS
            .iter()
            .chain([&["--data-dir", "d"] as &[&str]].iter())
        {
            accepts(&[command, flag].concat())?;
        }
    }
    Ok(())
}

#[test]
fn the_bus_commands_refuse_the_store_flags_and_take_the_bus_ones() -> TestResult {
    for command in [CONSUMERS, REPLAY, TOPICS_CREATE, TOPICS_DESCRIBE] {
        for flag in STORE_FLAGS {
            refuses(command, flag)?;
        }
        for flag in BUS_FLAGS {
            accepts(&[command, flag].concat())?;
        }
    }
    Ok(())
}

#[test]
fn consumers_takes_its_partitions_detail_and_json_as_flags() -> TestResult {
    accepts(&[CONSUMERS, &["--partitions"]].concat())?;
    accepts(&[CONSUMERS, &["--json"]].concat())?;
    accepts(&[CONSUMERS, &["--partitions", "--json"]].concat())?;
    refuses(CONSUMERS, &["--partition"])
}

#[test]
fn status_and_order_call_an_api_and_take_no_data_dir() -> TestResult {
    accepts(&["status", "--api", "http://127.0.0.1:1", "--json"])?;
    accepts(&["order", "o-1", "--token", "t"])?;
    refuses(&["status"], &["--data-dir", "d"])?;
    refuses(&["order", "o-1"], &["--bus", "kafka://x:1"])
}

#[test]
fn topics_live_on_kafka_alone_and_take_no_data_dir() -> TestResult {
    refuses(TOPICS_CREATE, &["--data-dir", "d"])?;
    refuses(TOPICS_DESCRIBE, &["--data-dir", "d"])?;
    accepts(&[CONSUMERS, &["--data-dir", "d"]].concat())?;
    accepts(&[REPLAY, &["--data-dir", "d"]].concat())
}

#[test]
fn run_and_serve_take_every_setting() -> TestResult {
    for command in [&["run"] as &[&str], &["serve", "payment,notification"]] {
        let mut args = command.to_vec();
        args.extend(["--data-dir", "d"]);
        for flag in SERVICE_FLAGS.iter().chain(STORE_FLAGS).chain(BUS_FLAGS) {
            args.extend(*flag);
        }
        accepts(&args)?;
    }
    Ok(())
}

#[test]
fn replay_without_a_start_names_every_way_to_give_one() -> TestResult {
    let error = match parse(&["replay", "--group", "analytics"]) {
        Err(e) => e.to_string(),
        Ok(cli) => return Err(format!("accepted: {cli:?}").into()),
    };
    assert!(error.contains("--from-beginning"), "{error}");
    assert!(error.contains("--from <FROM>"), "{error}");
    Ok(())
}

#[test]
fn replay_takes_one_start_only() -> TestResult {
    let both = [
        "replay",
        "--group",
        "analytics",
        "--from-beginning",
        "--from",
        "2026-01-01T00:00:00Z",
    ];
    match parse(&both) {
        Err(e) if e.kind() == ErrorKind::ArgumentConflict => Ok(()),
        other => Err(format!("{other:?}").into()),
    }
}

#[test]
fn serve_help_describes_every_service() -> TestResult {
    let mut cli = Cli::command();
    let serve = cli.find_subcommand_mut("serve").ok_or("no serve command")?;
    let help = serve.render_long_help().to_string();
    for service in Service::ALL {
        let name = service.name();
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("- {name}")))
            .ok_or_else(|| format!("{name} is not in {help}"))?;
        let described = line
            .split_once(':')
            .is_some_and(|(_, text)| !text.trim().is_empty());
        assert!(described, "{name} has no description: {line:?}");
    }
    Ok(())
}
