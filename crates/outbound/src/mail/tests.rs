//! Both mailers pass the mailer contract; each is checked where it differs: files are
//! named by the Message-ID, and an SMTP server's refusal is final.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use orderflow_core::contract::mail::MailSink;

use super::smtp_sink::{REFUSED_DOMAIN, SmtpSink};
use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The file mailer's outbox folder, in a temp dir of its own.
#[derive(Debug)]
struct Outbox {
    dir: tempfile::TempDir,
}

impl Outbox {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            dir: tempfile::tempdir()?,
        })
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("mail")
    }
}

#[async_trait]
impl MailSink for Outbox {
    async fn delivered(&self) -> Vec<String> {
        let files = std::fs::read_dir(self.path()).expect("the outbox is there");
        let mut messages: Vec<String> = files
            .map(|f| f.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "eml"))
            .map(|path| std::fs::read_to_string(path).expect("a message file"))
            .collect();
        messages.sort();
        messages
    }

    async fn take_down(&self) {
        std::fs::remove_dir_all(self.path()).expect("the outbox is removed");
    }
}

mod file_contract {
    orderflow_core::mailer_contract!(async {
        let outbox = super::Outbox::new().expect("temp dir");
        let mailer = super::FileMailer::new(outbox.path()).expect("the outbox folder");
        (mailer, outbox)
    });
}

mod smtp_contract {
    orderflow_core::mailer_contract!(async {
        let sink = super::SmtpSink::start().await.expect("a mail server");
        let mailer = super::SmtpMailer::from_url(&sink.url()).expect("its URL");
        (mailer, sink)
    });
}

fn email(to: &str) -> Email {
    Email {
        message_id: "order-received.o-1@orderflow".into(),
        to: to.into(),
        subject: "We received your order o-1".into(),
        text: "Thank you.".into(),
        html: "<p>Thank you.</p>".into(),
    }
}

fn names(dir: &Path) -> std::io::Result<Vec<String>> {
    std::fs::read_dir(dir)?
        .map(|f| Ok(f?.file_name().to_string_lossy().into_owned()))
        .collect()
}

#[tokio::test]
async fn an_email_becomes_one_file_named_by_its_message_id_however_often_sent() -> TestResult {
    let outbox = Outbox::new()?;
    let mailer = FileMailer::new(outbox.path())?;
    let email = email("c-1@customers.orderflow.local");
    mailer.send(&email).await?;
    mailer.send(&email).await?;
    assert_eq!(names(&outbox.path())?, ["order-received.o-1@orderflow.eml"]);
    Ok(())
}

#[tokio::test]
async fn a_recipient_the_smtp_server_refuses_is_a_permanent_failure() -> TestResult {
    let sink = SmtpSink::start().await?;
    let mailer = SmtpMailer::from_url(&sink.url())?;
    let err = mailer
        .send(&email(&format!("c-1@{REFUSED_DOMAIN}")))
        .await
        .expect_err("refused");
    assert!(matches!(err, MailError::Refused(_)), "{err:?}");
    assert!(!err.is_transient(), "{err}");
    assert_eq!(sink.delivered().await, Vec::<String>::new());
    Ok(())
}

#[test]
fn an_smtp_url_names_a_host_and_may_name_a_port() {
    for url in [
        "smtp://mail.example",
        "smtp://mail.example:2525",
        "smtp://mail.example:2525/",
    ] {
        assert!(SmtpMailer::from_url(url).is_ok(), "{url}");
    }
    for url in [
        "smtps://mail.example",
        "smtp://",
        "smtp://mail.example:port",
        "mail.example",
    ] {
        let err = SmtpMailer::from_url(url).expect_err(url);
        assert!(matches!(err, MailError::Invalid(_)), "{url}: {err:?}");
    }
}

#[tokio::test]
async fn forgetting_a_recipient_removes_their_emails_and_no_one_elses() -> TestResult {
    let outbox = Outbox::new()?;
    let mailer = FileMailer::new(outbox.path())?;
    let gone = "c-gone@customers.orderflow.local";
    for (id, to) in [
        ("a", gone),
        ("b", gone),
        ("c", "c-kept@customers.orderflow.local"),
    ] {
        let mut email = email(to);
        email.message_id = format!("{id}@orderflow");
        mailer.send(&email).await?;
    }
    assert_eq!(mailer.forget(gone).await?, 2);
    assert_eq!(names(&outbox.path())?, ["c@orderflow.eml"]);
    assert_eq!(mailer.forget(gone).await?, 0, "nothing left of them");
    Ok(())
}
