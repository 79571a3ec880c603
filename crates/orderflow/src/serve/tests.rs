//! The start-up line names the store, the bus and the data dir, and what is kept there.

use clap::Parser;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[derive(Debug, Parser)]
struct Run {
    #[command(flatten)]
    settings: Settings,
}

fn line(services: &[Service], args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let run = Run::try_parse_from(
        ["orderflow", "--data-dir", "/srv/orderflow-data"]
            .iter()
            .chain(args),
    )?;
    Ok(running_line(services, &run.settings)?)
}

#[test]
fn on_the_embedded_defaults_everything_is_in_the_data_dir() -> TestResult {
    let line = line(&Service::ALL, &[])?;
    assert_eq!(
        line,
        "orderflow: running api,orders,payment,inventory,shipping,notification,projections,\
         analytics,relay; event store: SQLite /srv/orderflow-data/events.db; bus: SQLite \
         /srv/orderflow-data/bus.db; data dir /srv/orderflow-data: event store, read models, \
         bus, payment ledger, mail"
    );
    Ok(())
}

#[test]
fn on_postgres_and_kafka_the_line_says_what_still_lives_in_the_data_dir() -> TestResult {
    let line = line(
        &Service::ALL,
        &[
            "--store",
            "postgres://orderflow:secret@db.example:5432/shop",
            "--bus",
            "kafka://k1:9092,k2:9092",
        ],
    )?;
    assert!(
        line.contains("event store: PostgreSQL db.example:5432/shop;"),
        "{line}"
    );
    assert!(!line.contains("secret"), "the password shows: {line}");
    assert!(
        line.contains("bus: Kafka kafka://k1:9092,k2:9092;"),
        "{line}"
    );
    assert!(
        line.ends_with("data dir /srv/orderflow-data: payment ledger, mail"),
        "{line}"
    );
    Ok(())
}

#[test]
fn a_process_that_keeps_nothing_in_the_data_dir_says_so() -> TestResult {
    let line = line(
        &[Service::Api, Service::Notification],
        &[
            "--store",
            "postgres://db.example/shop",
            "--bus",
            "kafka://k1:9092",
            "--smtp",
            "smtp://mail.example",
        ],
    )?;
    assert!(
        line.ends_with("data dir /srv/orderflow-data: nothing of this process"),
        "{line}"
    );
    Ok(())
}

#[test]
fn files_named_outside_the_data_dir_are_not_counted_in_it() -> TestResult {
    let line = line(
        &[Service::Relay],
        &[
            "--store",
            "sqlite:///var/events.db",
            "--bus",
            "sqlite:///var/bus.db",
        ],
    )?;
    assert!(
        line.contains("event store: SQLite /var/events.db;"),
        "{line}"
    );
    assert!(
        line.ends_with("data dir /srv/orderflow-data: read models"),
        "{line}"
    );
    Ok(())
}
