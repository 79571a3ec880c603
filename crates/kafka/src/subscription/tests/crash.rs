//! A member killed with `kill -9` does not leave its group: the cluster notices only when
//! its session times out, and then the survivor takes its partitions over.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};

use super::*;

/// Names the topic prefix of the group the member process joins.
const PREFIX: &str = "ORDERFLOW_TEST_MEMBER_PREFIX";

/// An effective librdkafka consumer property, in milliseconds (orderflow's defaults,
/// the configured properties, or librdkafka's own default).
fn millis(config: &KafkaConfig, key: &str) -> Duration {
    let native = config
        .consumer("g")
        .create_native_config()
        .expect("consumer configuration");
    let value = native.get(key).expect(key);
    Duration::from_millis(value.parse().expect("milliseconds"))
}

/// What the member process reports: a record it handled, or the partitions it owns.
enum Report {
    Handled(u32, u64),
    Owns(BTreeSet<u32>),
}

/// The member process: joins the group under `$ORDERFLOW_TEST_MEMBER_PREFIX`, and polls,
/// reports and commits until it is killed. Started by the test below; on its own (no
/// prefix given) it does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the member process a_dead_member_s_partitions_move_to_the_survivor starts"]
async fn member_process() {
    let Ok(prefix) = std::env::var(PREFIX) else {
        return;
    };
    let mut config = isolated_config();
    config.topics.prefix = prefix;
    let mut member =
        KafkaSubscription::join(Arc::new(config), "g", &["orders"], StartFrom::Earliest)
            .await
            .expect("join");
    let mut owns = BTreeSet::new();
    loop {
        let handled = member
            .poll(100, Duration::from_millis(100))
            .await
            .expect("poll");
        let mut out = std::io::stdout().lock();
        for r in &handled {
            writeln!(out, "member-handled {} {}", r.partition, r.offset).expect("report");
        }
        if owned(&member) != owns {
            owns = owned(&member);
            let list: Vec<String> = owns.iter().map(u32::to_string).collect();
            writeln!(out, "member-owns {}", list.join(",")).expect("report");
        }
        out.flush().expect("report");
        drop(out);
        if let Err(e) = member.commit(&Offset::after(&handled)).await {
            eprintln!("member process: commit failed: {e}");
        }
    }
}

/// The member process and what it has reported.
struct Member {
    process: std::process::Child,
    reports: tokio::sync::mpsc::UnboundedReceiver<Report>,
    handled: BTreeSet<(u32, u64)>,
    owns: BTreeSet<u32>,
}

impl Member {
    fn start(prefix: &str) -> Self {
        let mut process = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "subscription::tests::crash::member_process",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(PREFIX, prefix)
            .stdout(Stdio::piped())
            .spawn()
            .expect("member process");
        let stdout = process.stdout.take().expect("stdout");
        let (tx, reports) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let report = if let Some(rest) = line.strip_prefix("member-handled ") {
                    let (p, o) = rest.split_once(' ').expect("partition offset");
                    Report::Handled(p.parse().expect("partition"), o.parse().expect("offset"))
                } else if let Some(rest) = line.strip_prefix("member-owns ") {
                    Report::Owns(rest.split(',').filter_map(|p| p.parse().ok()).collect())
                } else {
                    continue;
                };
                if tx.send(report).is_err() {
                    return;
                }
            }
        });
        Self {
            process,
            reports,
            handled: BTreeSet::new(),
            owns: BTreeSet::new(),
        }
    }

    fn apply(&mut self, report: Report) {
        match report {
            Report::Handled(p, o) => {
                self.handled.insert((p, o));
            }
            Report::Owns(owns) => self.owns = owns,
        }
    }

    /// Takes in what it has reported so far.
    fn drain(&mut self) {
        while let Ok(report) = self.reports.try_recv() {
            self.apply(report);
        }
    }

    /// Waits for its reports until it has handled `records`.
    async fn until_handled(&mut self, records: &BTreeSet<(u32, u64)>) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !records.is_subset(&self.handled) {
            let report = tokio::time::timeout_at(deadline, self.reports.recv())
                .await
                .expect("the member process handled the records")
                .expect("the member process runs");
            self.apply(report);
        }
    }
}

/// Every (partition, offset) below the topic's end offsets.
async fn published(bus: &KafkaBus) -> BTreeSet<(u32, u64)> {
    let ends = bus.end_offsets("orders").await.expect("ends");
    ends.into_iter()
        .flat_map(|(p, end)| (0..end).map(move |o| (p, o)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_member_s_partitions_move_to_the_survivor_within_the_session_timeout() {
    let config = isolated_config();
    let (session, heartbeat) = (
        millis(&config, "session.timeout.ms"),
        millis(&config, "heartbeat.interval.ms"),
    );
    let config = Arc::new(config);
    let (bus, _topics) = crate::testing::connect((*config).clone()).await;
    bus.publish(records(48)).await.expect("publish");

    // The member process handles everything there is.
    let mut member = Member::start(&config.topics.prefix);
    member.until_handled(&published(&bus).await).await;

    // The survivor joins, and they share the partitions while records keep coming.
    let mut got: BTreeSet<(u32, u64)> = BTreeSet::new();
    let mut survivor =
        KafkaSubscription::join(config.clone(), "g", &["orders"], StartFrom::Earliest)
            .await
            .expect("join");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        member.drain();
        let (mine, theirs) = (owned(&survivor), &member.owns);
        if !mine.is_empty() && !theirs.is_empty() && mine.is_disjoint(theirs) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never shared: {mine:?} and {theirs:?}"
        );
        bus.publish(records(12)).await.expect("publish");
        for r in survivor
            .poll(100, Duration::from_millis(50))
            .await
            .expect("poll")
        {
            got.insert((r.partition, r.offset));
        }
    }

    // kill -9: the member neither commits nor leaves. Its partitions get records only
    // the survivor can handle.
    member.process.kill().expect("kill -9");
    member.process.wait().expect("reaped");
    bus.publish(records(48)).await.expect("publish");
    let killed = tokio::time::Instant::now();
    let deadline = killed + session + heartbeat + Duration::from_secs(10);
    while owned(&survivor).len() < PARTITIONS as usize {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the survivor owns {:?} {:?} after the kill (session.timeout.ms {session:?})",
            owned(&survivor),
            killed.elapsed(),
        );
        for r in survivor
            .poll(100, Duration::from_millis(100))
            .await
            .expect("poll")
        {
            got.insert((r.partition, r.offset));
        }
    }
    eprintln!(
        "the survivor owned every partition {:?} after the kill (session.timeout.ms {session:?})",
        killed.elapsed()
    );

    // Every record reaches one member or the other.
    while let Some(report) = member.reports.recv().await {
        member.apply(report);
    }
    let mut handled = member.handled;
    handled.extend(got);
    let all = published(&bus).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !all.is_subset(&handled) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "records were lost: {:?}",
            all.difference(&handled).collect::<Vec<_>>()
        );
        for r in survivor
            .poll(100, Duration::from_millis(100))
            .await
            .expect("poll")
        {
            handled.insert((r.partition, r.offset));
        }
    }
}
