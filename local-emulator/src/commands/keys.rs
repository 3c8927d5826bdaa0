//! `tollgate keys`: development API keys in a keys file, and their quota use.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli;

/// Keys and plans from a keys file (if it exists) and a template (if it exists).
fn known_keys(
    file: &std::path::Path,
    template: Option<&std::path::Path>,
) -> Result<gateway::UsageConfig> {
    let mut cfg = gateway::UsageConfig::default();
    if let Some(t) = template.filter(|t| t.exists()) {
        if let Ok(tpl) = gateway::sam::load_template(t, &Default::default()) {
            cfg.merge(tpl.usage);
        }
    }
    if file.exists() {
        let text = std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
        let extra: gateway::UsageConfig = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a keys file", file.display()))?;
        cfg.merge(extra);
    }
    Ok(cfg)
}

pub(crate) async fn run(cmd: cli::KeysCommand) -> Result<ExitCode> {
    match cmd {
        cli::KeysCommand::Create {
            name,
            plan,
            value,
            file,
        } => {
            let mut cfg: gateway::UsageConfig = if file.exists() {
                serde_json::from_str(&std::fs::read_to_string(&file)?)
                    .with_context(|| format!("{}: not a keys file", file.display()))?
            } else {
                Default::default()
            };
            if cfg.keys.iter().any(|k| k.id == name) {
                anyhow::bail!("{}: a key named {name} already exists", file.display());
            }
            let value = value.unwrap_or_else(|| {
                let a = uuid::Uuid::new_v4().simple().to_string();
                let b = uuid::Uuid::new_v4().simple().to_string();
                format!("{a}{}", &b[..8])
            });
            if !(20..=128).contains(&value.len())
                || !value.chars().all(|c| c.is_ascii_alphanumeric())
            {
                anyhow::bail!("--value: API key values are 20 to 128 letters and digits");
            }
            cfg.keys.push(gateway::ApiKey {
                id: name.clone(),
                name,
                value: value.clone(),
                enabled: true,
                plans: plan,
            });
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&file, serde_json::to_string_pretty(&cfg)? + "\n")?;
            outln!("{value}");
        }
        cli::KeysCommand::List { file, template } => {
            let cfg = known_keys(&file, Some(&template))?;
            for k in &cfg.keys {
                outln!(
                    "{}\t{}\t{}\t{}",
                    k.id,
                    if k.enabled { "enabled" } else { "disabled" },
                    if k.plans.is_empty() {
                        "-".to_string()
                    } else {
                        k.plans.join(",")
                    },
                    k.value
                );
            }
        }
        cli::KeysCommand::Usage {
            file,
            template,
            state_dir,
        } => {
            let cfg = known_keys(&file, Some(&template))?;
            let store = gateway::EmbeddedStore::open(&state_dir, gateway::StateSync::Interval)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            for k in &cfg.keys {
                for p in cfg.plans.iter().filter(|p| k.plans.contains(&p.id)) {
                    let Some(q) = &p.quota else {
                        outln!("{}\t{}\tno quota", k.id, p.id);
                        continue;
                    };
                    let (start, _) = gateway::period_bounds(now, q.period);
                    let used = gateway::UsageStore::used(
                        &store,
                        &format!("quota|{}|{}|{start}", p.id, k.id),
                    )
                    .await
                    .map_err(anyhow::Error::msg)?;
                    outln!("{}\t{}\t{used}/{} this {:?}", k.id, p.id, q.limit, q.period);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
