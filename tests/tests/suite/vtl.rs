//! The VTL corpus (`tests/fixtures/vtl/*.case`): one file per case, rendered by tollgate's
//! engine and compared with the expected output. Cases marked `oracle: yes` are plain Velocity,
//! and their expectations are also checked against Apache Velocity 1.7 itself (the engine API
//! Gateway runs), which `scripts/test.sh` installs from Debian and exposes through
//! `TOLLGATE_TEST_VTL_ORACLE_CP`.
//!
//! Case format: a header (description, flags), then sections opened by `--- name` lines:
//! `template`, `vars` (JSON variables, plain Velocity), `body` and `request` (the method request
//! for `$input`/`$context`, API Gateway mode), `expected` or `error` (a substring of the error),
//! and optionally `overrides` (JSON of the `$context.*Override` values the template set).

use std::collections::BTreeMap;
use std::path::PathBuf;

use gateway::vtl::{render_mapping, MappingInput};
use gateway::vtl::{RenderOptions, Template, Value, Vars};
use gateway::{ConnInfo, RequestContext};

struct Case {
    name: String,
    header: String,
    sections: BTreeMap<String, String>,
}

impl Case {
    fn oracle(&self) -> bool {
        self.header.lines().any(|l| l.trim() == "oracle: yes")
    }
}

fn cases_dir() -> PathBuf {
    tollgate_tests::fixture("vtl")
}

fn load_cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/fixtures/vtl")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "case"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).expect("case file");
        let mut sections = BTreeMap::new();
        let mut name = "header".to_string();
        let mut cur = String::new();
        // The file's own final newline ends the last section's last line.
        for line in text.strip_suffix('\n').unwrap_or(&text).split('\n') {
            if let Some(n) = line.strip_prefix("--- ") {
                sections.insert(std::mem::take(&mut name), trim_last_newline(&cur));
                name = n.trim().to_string();
                cur.clear();
            } else {
                cur.push_str(line);
                cur.push('\n');
            }
        }
        sections.insert(name, trim_last_newline(&cur));
        let header = sections.remove("header").unwrap_or_default();
        out.push(Case {
            name: p.file_stem().expect("stem").to_string_lossy().into_owned(),
            header,
            sections,
        });
    }
    assert!(
        out.len() >= 20,
        "the corpus went missing: {} cases",
        out.len()
    );
    out
}

fn trim_last_newline(s: &str) -> String {
    s.strip_suffix('\n').unwrap_or(s).to_string()
}

fn strings(v: &serde_json::Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Render one case; `Err` carries the engine's error text.
fn render(case: &Case) -> Result<(String, Option<serde_json::Value>), String> {
    let template = Template::parse(&case.name, case.sections.get("template").map_or("", |s| s))
        .map_err(|e| e.to_string())?;
    if case.oracle() {
        let vars_json: serde_json::Value =
            serde_json::from_str(case.sections.get("vars").map_or("{}", |s| s)).expect("vars JSON");
        let mut vars = Vars::new();
        for (k, v) in vars_json.as_object().expect("vars object") {
            vars.insert(k.clone(), plain(v));
        }
        return template
            .render(&mut vars, RenderOptions::VELOCITY)
            .map(|s| (s, None))
            .map_err(|e| e.to_string());
    }
    let request: serde_json::Value =
        serde_json::from_str(case.sections.get("request").map_or("{}", |s| s))
            .expect("request JSON");
    let conn = ConnInfo {
        remote: "203.0.113.7:50000".parse().expect("addr"),
        local: "127.0.0.1:3000".parse().expect("addr"),
        tls: false,
    };
    let mut ctx = RequestContext::new(&http::Method::POST, "/", &http::HeaderMap::new(), conn);
    ctx.request_id = "c0ffee00-0000-4000-8000-000000000001".into();
    ctx.api_id = Some("abc123defg".into());
    ctx.stage = Some("dev".into());
    ctx.resource_path = Some("/things/{id}".into());
    ctx.request_time_epoch = 1_700_000_000_000;
    for (k, v) in strings(&request["stageVariables"]) {
        std::sync::Arc::make_mut(&mut ctx.stage_variables).insert(k, v);
    }
    if let Some(a) = request.get("authorizer") {
        ctx.authorizer = Some(gateway::AuthorizerOutput {
            principal_id: a["principalId"].as_str().map(str::to_string),
            context: a["context"].as_object().cloned().unwrap_or_default(),
            usage_identifier_key: None,
            latency: std::time::Duration::ZERO,
            claims: a["claims"].as_object().cloned().map(std::sync::Arc::new),
            scopes: Vec::new(),
        });
    }
    let path = strings(&request["path"]);
    let query = strings(&request["querystring"]);
    let headers = strings(&request["header"]);
    let body = case.sections.get("body").cloned().unwrap_or_default();
    let input = MappingInput {
        body: body.as_bytes(),
        path: &path,
        query: &query,
        headers: &|| headers.clone(),
    };
    let (text, o) = render_mapping(&template, &ctx, &input).map_err(|e| e.to_string())?;
    let obj = |pairs: Vec<(String, String)>| {
        pairs
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect::<serde_json::Map<_, _>>()
    };
    let overrides = serde_json::json!({
        "status": o.status,
        "requestHeaders": obj(o.request_headers),
        "responseHeaders": obj(o.response_headers),
        "requestPath": obj(o.request_path),
        "requestQuerystring": obj(o.request_query),
    });
    Ok((text, Some(overrides)))
}

/// Test variables as Velocity sees Java collections: lists print `[a, b]`, maps `{k=v}`.
fn plain(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Array(a) => Value::list(a.iter().map(plain).collect()),
        serde_json::Value::Object(o) => {
            Value::map(o.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
        }
        other => Value::from_json(other),
    }
}

#[test]
fn vtl_corpus_renders_as_expected() {
    let mut failures = Vec::new();
    for case in load_cases() {
        let got = render(&case);
        match (
            case.sections.get("expected"),
            case.sections.get("error"),
            got,
        ) {
            (Some(want), _, Ok((text, overrides))) => {
                if &text != want {
                    failures.push(format!("{}: expected\n{want:?}\ngot\n{text:?}", case.name));
                }
                if let (Some(want), Some(got)) = (case.sections.get("overrides"), overrides) {
                    let want: serde_json::Value =
                        serde_json::from_str(want).expect("overrides JSON");
                    for (k, v) in want.as_object().expect("overrides object") {
                        if &got[k] != v {
                            failures.push(format!(
                                "{}: override {k}: expected {v}, got {}",
                                case.name, got[k]
                            ));
                        }
                    }
                }
            }
            (_, Some(want), Err(e)) => {
                if !e.contains(want.as_str()) {
                    failures.push(format!(
                        "{}: expected an error containing {want:?}, got {e:?}",
                        case.name
                    ));
                }
            }
            (_, Some(_), Ok((text, _))) => failures.push(format!(
                "{}: expected an error, rendered {text:?}",
                case.name
            )),
            (_, None, Err(e)) => failures.push(format!("{}: {e}", case.name)),
            (None, None, Ok(_)) => {
                failures.push(format!("{}: no expected or error section", case.name))
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn vtl_corpus_agrees_with_apache_velocity() {
    let classpath = std::env::var("TOLLGATE_TEST_VTL_ORACLE_CP").unwrap_or_else(|_| {
        panic!("TOLLGATE_TEST_VTL_ORACLE_CP is not set: run the suite with scripts/test.sh, which installs Apache Velocity 1.7 (Debian's velocity) and compiles tests/oracle/VtlOracle.java")
    });
    let out = std::env::temp_dir().join(format!("tollgate-vtl-oracle-{}", std::process::id()));
    let status = std::process::Command::new("java")
        .args(["-cp", &classpath, "VtlOracle"])
        .arg(cases_dir())
        .arg(&out)
        .status()
        .expect("java runs");
    assert!(status.success(), "the Velocity oracle failed: {status}");
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in load_cases().into_iter().filter(Case::oracle) {
        let real = std::fs::read_to_string(out.join(format!("{}.out", case.name)))
            .unwrap_or_else(|e| panic!("oracle output for {}: {e}", case.name));
        checked += 1;
        match (case.sections.get("expected"), case.sections.get("error")) {
            (Some(want), _) if &real != want => failures.push(format!(
                "{}: Velocity 1.7 renders\n{real:?}\nbut the case expects\n{want:?}",
                case.name
            )),
            (_, Some(_)) if !real.starts_with("ERROR") => failures.push(format!(
                "{}: Velocity 1.7 accepts this template ({real:?}) but the case expects an error",
                case.name
            )),
            _ => {}
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    assert!(checked >= 20, "only {checked} oracle cases");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
