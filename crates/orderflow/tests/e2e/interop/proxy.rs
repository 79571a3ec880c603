//! A recording HTTP/1.1 proxy between a client and orderflow's registry: it forwards each
//! request unchanged and keeps the request and the answer, so a failing interop test can
//! show exactly what the client sent and what the registry said.

use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::support::Res;

/// One request and its answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub request: String,
    pub status: u16,
    pub response: String,
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.target)?;
        if !self.request.is_empty() {
            write!(f, " {}", self.request)?;
        }
        write!(f, "\n      -> {} {}", self.status, self.response)
    }
}

type Log = Arc<Mutex<Vec<Exchange>>>;

/// The proxy; it stops when dropped.
#[derive(Debug)]
pub struct Recorder {
    /// The registry's URL through the proxy, for a client's configuration.
    pub url: String,
    log: Log,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorder {
    /// A proxy to the orderflow process at `base` (`http://host:port`).
    pub async fn start(base: &str) -> Res<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let log = Log::default();
        let upstream = base.trim_end_matches('/').to_owned();
        let kept = Arc::clone(&log);
        let task = tokio::spawn(async move {
            let client = reqwest::Client::new();
            while let Ok((socket, _)) = listener.accept().await {
                let (upstream, client, log) = (upstream.clone(), client.clone(), kept.clone());
                tokio::spawn(async move {
                    if let Err(e) = relay(socket, &upstream, &client, &log).await {
                        eprintln!("interop proxy: {e}");
                    }
                });
            }
        });
        Ok(Self {
            url: format!("http://{addr}/schema-registry"),
            log,
            task,
        })
    }

    /// Every exchange so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The exchanges the registry answered with an error status, one a paragraph.
    pub fn errors(&self) -> String {
        let errors: Vec<String> = self
            .exchanges()
            .iter()
            .filter(|e| e.status >= 400)
            .map(|e| format!("    {e}"))
            .collect();
        if errors.is_empty() {
            "    (none)".to_owned()
        } else {
            errors.join("\n")
        }
    }
}

/// Serves one client connection (kept alive across requests) until the client closes it.
async fn relay(socket: TcpStream, upstream: &str, client: &reqwest::Client, log: &Log) -> Res<()> {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().ok_or("no method")?.to_owned();
        let target = parts.next().ok_or("no request target")?.to_owned();
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut header = String::new();
            read.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').ok_or("malformed header")?;
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
            match name.as_str() {
                "content-length" => length = value.parse()?,
                "transfer-encoding" => return Err("chunked request bodies are not relayed".into()),
                // Hop-by-hop, or set by the forwarding client itself.
                "host" | "connection" | "keep-alive" | "accept-encoding" => {}
                _ => headers.push((name, value)),
            }
        }
        let mut body = vec![0; length];
        read.read_exact(&mut body).await?;

        let mut request = client.request(
            reqwest::Method::from_bytes(method.as_bytes())?,
            format!("{upstream}{target}"),
        );
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let answer = request.body(body.clone()).send().await?;
        let status = answer.status();
        let content_type = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let answer = answer.bytes().await?;
        if let Ok(mut log) = log.lock() {
            log.push(Exchange {
                method,
                target,
                request: String::from_utf8_lossy(&body).into_owned(),
                status: status.as_u16(),
                response: String::from_utf8_lossy(&answer).into_owned(),
            });
        }

        let mut head = format!(
            "HTTP/1.1 {} {}\r\ncontent-length: {}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Unknown"),
            answer.len()
        );
        if let Some(content_type) = content_type {
            head.push_str(&format!("content-type: {content_type}\r\n"));
        }
        head.push_str("\r\n");
        write.write_all(head.as_bytes()).await?;
        write.write_all(&answer).await?;
        write.flush().await?;
    }
}
