//! `tollgate token`: sign development JWTs with a local RSA key, and print its key set.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli;

fn kid_for(k: &cli::KeyArgs) -> String {
    k.kid.clone().unwrap_or_else(|| {
        k.key
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "tollgate-dev".into())
    })
}

pub(crate) fn run(cmd: &cli::TokenCommand) -> Result<ExitCode> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let key_args = match cmd {
        cli::TokenCommand::Mint(m) => &m.key,
        cli::TokenCommand::Jwks(k) => k,
    };
    let pem = std::fs::read(&key_args.key)
        .with_context(|| format!("--key {}", key_args.key.display()))?;
    let key = EncodingKey::from_rsa_pem(&pem).with_context(|| {
        format!(
            "--key {}: not an RSA private key in PEM form",
            key_args.key.display()
        )
    })?;
    match cmd {
        cli::TokenCommand::Jwks(k) => {
            let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256)?;
            jwk.common.key_id = Some(kid_for(k));
            outln!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "keys": [jwk] }))?
            );
        }
        cli::TokenCommand::Mint(m) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let mut claims = serde_json::json!({
                "iss": m.iss, "sub": m.sub, "iat": now, "nbf": now, "exp": now + m.ttl,
            });
            match m.aud.as_slice() {
                [] => {}
                [one] => claims["aud"] = serde_json::json!(one),
                many => claims["aud"] = serde_json::json!(many),
            }
            if let Some(s) = &m.scope {
                claims["scope"] = serde_json::json!(s);
            }
            for kv in &m.claims {
                let (k, v) = kv
                    .split_once('=')
                    .with_context(|| format!("--claim `{kv}`: expected KEY=VALUE"))?;
                claims[k] = serde_json::json!(v);
            }
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(kid_for(&m.key));
            outln!("{}", jsonwebtoken::encode(&header, &claims, &key)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
