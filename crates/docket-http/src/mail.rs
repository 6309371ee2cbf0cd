//! Sending email: over SMTP with lettre, or, when no SMTP server is configured, into a
//! folder as `.eml` files, so nothing is lost and every message can be read.

use crate::settings::{MailSettings, SmtpTls};
use async_trait::async_trait;
use docket_domain::email::Threading;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// Why a message was not sent, and whether trying again could help.
#[derive(Debug)]
pub struct MailError {
    /// The server refused for good (5xx: no such user, rejected), or the address is
    /// malformed.
    pub permanent: bool,
    pub message: String,
}

/// Where messages go. Two implementations: SMTP and a folder.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        threading: &Threading,
    ) -> Result<(), MailError>;
}

/// The mailer the settings describe.
pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Box<dyn Mailer>> {
    Ok(match &settings.smtp {
        Some(smtp) => {
            let mut builder = match smtp.tls {
                SmtpTls::None => {
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                }
                SmtpTls::Starttls => {
                    AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?
                }
                SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
            }
            .port(smtp.port)
            .timeout(Some(Duration::from_secs(30)));
            if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
                builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
            }
            Box::new(SmtpMailer {
                from: settings.from.clone(),
                transport: builder.build(),
            })
        }
        None => Box::new(FolderMailer {
            from: settings.from.clone(),
            folder: settings.folder.clone(),
        }),
    })
}

fn message(
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
    threading: &Threading,
) -> Result<Message, MailError> {
    let permanent = |message: String| MailError {
        permanent: true,
        message,
    };
    Message::builder()
        .from(
            from.parse()
                .map_err(|e| permanent(format!("bad From address: {e}")))?,
        )
        .to(to
            .parse()
            .map_err(|e| permanent(format!("bad address {to}: {e}")))?)
        .subject(subject)
        .message_id(Some(threading.message_id.clone()))
        .in_reply_to(threading.thread.clone())
        .references(threading.thread.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_owned())
        .map_err(|e| permanent(format!("cannot build the message: {e}")))
}

pub struct SmtpMailer {
    from: String,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        threading: &Threading,
    ) -> Result<(), MailError> {
        let m = message(&self.from, to, subject, body, threading)?;
        self.transport
            .send(m)
            .await
            .map(|_| ())
            .map_err(|e| MailError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            })
    }
}

pub struct FolderMailer {
    from: String,
    folder: PathBuf,
}

#[async_trait]
impl Mailer for FolderMailer {
    async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        threading: &Threading,
    ) -> Result<(), MailError> {
        let m = message(&self.from, to, subject, body, threading)?;
        let transient = |e: std::io::Error| MailError {
            permanent: false,
            message: format!("cannot write to {}: {e}", self.folder.display()),
        };
        tokio::fs::create_dir_all(&self.folder)
            .await
            .map_err(transient)?;
        let name = format!("{}.eml", uuid::Uuid::now_v7());
        // Written under a temporary name and renamed, so a reader never sees half a file.
        let tmp = self.folder.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, m.formatted())
            .await
            .map_err(transient)?;
        tokio::fs::rename(&tmp, self.folder.join(name))
            .await
            .map_err(transient)
    }
}
