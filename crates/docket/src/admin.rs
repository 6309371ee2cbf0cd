//! `docket admin`: what an operator needs without the API.

use anyhow::{anyhow, bail, Context};
use docket_domain::access::{Role, Scope};
use docket_domain::member::{Email, NewMember};
use docket_domain::token::{Token, TokenSecret};
use docket_store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum Admin {
    /// Create a workspace with an owner; prints the owner's token once.
    CreateWorkspace {
        /// The workspace's display name, e.g. "Acme Legal".
        #[arg(long)]
        name: String,
        /// Its short name in URLs and commands: lowercase letters, digits and `-`.
        #[arg(long)]
        slug: String,
        /// The first owner's email (they sign in with it once a password is set).
        #[arg(long)]
        owner_email: String,
        /// The first owner's name.
        #[arg(long, default_value = "Owner")]
        owner_name: String,
    },
    /// List workspaces.
    ListWorkspaces,
    /// Add a member to a workspace.
    AddMember {
        /// The workspace's slug.
        #[arg(long)]
        workspace: String,
        /// The member's email, unique in the workspace.
        #[arg(long)]
        email: String,
        /// The member's name.
        #[arg(long)]
        name: String,
        /// owner, admin, moderator or member.
        #[arg(long)]
        role: String,
    },
    /// Set a member's web desk password (read from DOCKET_PASSWORD, or from standard
    /// input, so it stays out of the shell history); signs the member's browsers out.
    SetPassword {
        /// The workspace's slug.
        #[arg(long)]
        workspace: String,
        /// The member's email.
        #[arg(long)]
        email: String,
    },
    /// Issue a token; prints the secret once.
    IssueToken {
        /// The workspace's slug.
        #[arg(long)]
        workspace: String,
        /// The member's email; omit for a system token that acts for no member.
        #[arg(long)]
        member: Option<String>,
        /// What the token is for, e.g. "importer".
        #[arg(long)]
        name: String,
        /// Comma-separated scopes; empty for everything the role allows.
        #[arg(long, default_value = "")]
        scopes: String,
        /// Days until it expires.
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
}

pub async fn run(store: &dyn Store, cmd: Admin) -> anyhow::Result<()> {
    match cmd {
        Admin::CreateWorkspace {
            name,
            slug,
            owner_email,
            owner_name,
        } => {
            let made = docket_http::bootstrap::create_workspace(
                store,
                &name,
                &slug,
                &owner_email,
                &owner_name,
                None,
            )
            .await?;
            println!(
                "workspace {} ({}) created",
                made.workspace.slug, made.workspace.id
            );
            println!("owner token (shown once): {}", made.secret.expose());
        }
        Admin::ListWorkspaces => {
            for w in store.list_workspaces().await? {
                println!("{}\t{}\t{}", w.slug, w.id, w.name);
            }
        }
        Admin::AddMember {
            workspace,
            email,
            name,
            role,
        } => {
            let ws = store
                .workspace_by_slug(&workspace)
                .await?
                .ok_or_else(|| anyhow!("no workspace {workspace}"))?;
            let role: Role = role.parse().map_err(|e: String| anyhow!(e))?;
            let email = Email::parse(&email).map_err(|e| anyhow!("email: {}", e.message))?;
            let member = NewMember::new(email, &name, role)
                .map_err(|e| anyhow!("{}: {}", e.field, e.message))?
                .into_member(ws.id, docket_domain::now());
            let member = store.insert_member(member).await?;
            println!(
                "member {} ({}) added as {}",
                member.email.as_str(),
                member.id,
                member.role
            );
        }
        Admin::SetPassword { workspace, email } => {
            let ws = store
                .workspace_by_slug(&workspace)
                .await?
                .ok_or_else(|| anyhow!("no workspace {workspace}"))?;
            let email = Email::parse(&email).map_err(|e| anyhow!("email: {}", e.message))?;
            let member = store
                .member_by_email(ws.id, &email)
                .await?
                .ok_or_else(|| anyhow!("no member {} in {workspace}", email.as_str()))?;
            let password = match std::env::var("DOCKET_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let hash = tokio::task::spawn_blocking(move || {
                docket_domain::session::hash_password(&password)
            })
            .await?
            .map_err(|e| anyhow!("password: {}", e.message))?;
            store.set_password(ws.id, member.id, Some(hash)).await?;
            println!("password set for {}", member.email.as_str());
        }
        Admin::IssueToken {
            workspace,
            member,
            name,
            scopes,
            expires_in_days,
        } => {
            let ws = store
                .workspace_by_slug(&workspace)
                .await?
                .ok_or_else(|| anyhow!("no workspace {workspace}"))?;
            let member =
                match member {
                    Some(email) => {
                        let email =
                            Email::parse(&email).map_err(|e| anyhow!("member: {}", e.message))?;
                        Some(store.member_by_email(ws.id, &email).await?.ok_or_else(|| {
                            anyhow!("no member {} in {workspace}", email.as_str())
                        })?)
                    }
                    None => None,
                };
            let scopes: Vec<Scope> = scopes
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|e: String| anyhow!(e)))
                .collect::<anyhow::Result<_>>()?;
            if let Some(m) = &member {
                if let Some(s) = scopes.iter().find(|s| !m.role.scopes().contains(**s)) {
                    bail!("the {} role does not allow {s}", m.role);
                }
            }
            let now = docket_domain::now();
            let expires_at = expires_in_days.map(|d| now + chrono::TimeDelta::days(d));
            let secret = TokenSecret::generate();
            let token = Token::new(
                ws.id,
                member.map(|m| m.id),
                &name,
                scopes,
                expires_at,
                &secret,
                now,
            );
            let token = store
                .insert_token(token)
                .await
                .context("issuing the token")?;
            println!(
                "token {} issued (shown once): {}",
                token.id,
                secret.expose()
            );
        }
    }
    Ok(())
}
