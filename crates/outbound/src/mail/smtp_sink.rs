//! A mail server for the SMTP mailer's tests: speaks just enough SMTP for lettre, keeps
//! every message it accepts, and refuses recipients at [`REFUSED_DOMAIN`] for good.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use orderflow_core::contract::mail::MailSink;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Recipients at this domain are answered `550`, as a server answers a mailbox that
/// does not exist.
pub const REFUSED_DOMAIN: &str = "refused.example";

type Messages = Arc<Mutex<Vec<String>>>;

#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    messages: Messages,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl SmtpSink {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let messages = Messages::default();
        let server = tokio::spawn(serve(listener, messages.clone()));
        Ok(Self {
            addr,
            messages,
            server: Mutex::new(Some(server)),
        })
    }

    /// The `smtp://` URL the mailer is configured with.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }
}

#[async_trait]
impl MailSink for SmtpSink {
    async fn delivered(&self) -> Vec<String> {
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn take_down(&self) {
        let server = self.server.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(server) = server {
            server.abort();
            // Once the task is gone, so is its listener: connections are refused.
            let _ = server.await;
        }
    }
}

/// One session at a time: the tests send one email at a time.
async fn serve(listener: TcpListener, messages: Messages) {
    while let Ok((stream, _)) = listener.accept().await {
        // A session that breaks off ends; the server goes on with the next.
        let _ = session(stream, &messages).await;
    }
}

async fn session(stream: TcpStream, messages: &Mutex<Vec<String>>) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    while let Some(line) = lines.next_line().await? {
        let verb = line.get(..4).unwrap_or(&line).to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 sink\r\n",
            "MAIL" | "RSET" | "NOOP" => b"250 OK\r\n",
            "RCPT" if line.contains(REFUSED_DOMAIN) => b"550 no such mailbox\r\n",
            "RCPT" => b"250 OK\r\n",
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut message = String::new();
                while let Some(line) = lines.next_line().await? {
                    if line == "." {
                        break;
                    }
                    // The sender doubles a line's leading dot; one is taken off again.
                    message.push_str(line.strip_prefix('.').unwrap_or(&line));
                    message.push_str("\r\n");
                }
                messages
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(message);
                b"250 queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
