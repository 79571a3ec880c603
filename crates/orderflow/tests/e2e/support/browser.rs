//! A real browser for the console's tests: Debian's `chromium`, headless, driven over
//! WebDriver through its `chromedriver` (which `scripts/test` installs). Each test gets
//! a browser of its own; it is closed when the test ends.

use std::process::Stdio;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::process::{Child, Command};

use super::{Res, eventually};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless chromium and the WebDriver session on it.
pub struct Browser {
    pub client: Client,
    _driver: Child,
}

impl Browser {
    pub async fn start() -> Res<Self> {
        for needed in [CHROMIUM, CHROMEDRIVER] {
            if !std::path::Path::new(needed).exists() {
                return Err(format!(
                    "{needed} is missing: install Debian's chromium and chromium-driver \
                     (scripts/test does)"
                )
                .into());
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000"],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        // The driver answers a moment after it starts.
        let client = eventually(|| async {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(capabilities.clone());
            Ok(builder.connect(&url).await.ok())
        })
        .await?;
        Ok(Self {
            client,
            _driver: driver,
        })
    }

    /// Saves what the browser shows as `docs/console/NAME.png`.
    pub async fn screenshot(&self, name: &str) -> Res<()> {
        let png = self.client.screenshot().await?;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/console");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{name}.png")), png)?;
        Ok(())
    }

    pub async fn close(self) -> Res<()> {
        self.client.close().await?;
        Ok(())
    }
}
