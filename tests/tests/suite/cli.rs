//! The `tollgate` commands' output and exit codes.

use std::process::Command;

use tollgate_tests::{fixture, repo_root, tollgate_bin};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(tollgate_bin())
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("run tollgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn validate_the_example() {
    let (code, out, _) = run(&["validate"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "ok: 1 API, 8 routes");
}

#[test]
fn validate_reports_every_error_and_fails() {
    let bad = fixture("broken/bad_paths.yaml");
    let (code, out, err) = run(&["validate", "--openapi", bad.to_str().expect("utf8")]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 4, "{err}");
    assert!(
        errors.iter().all(|l| l.contains("bad_paths.yaml: /paths/")),
        "{err}"
    );
    assert!(err.trim_end().ends_with("4 errors found"), "{err}");
}

#[test]
fn routes_prints_the_table() {
    let (code, out, _) = run(&["routes"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("API") && lines[0].contains("INTEGRATION"),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "OrdersApi",
                    "REST",
                    "Prod",
                    "ANY",
                    "/inventory/{proxy+}",
                    "HTTP_PROXY",
                    "${stageVariables.inventoryService}/{proxy}"
                ]),
        "{out}"
    );
    assert_eq!(lines.len(), 9, "{out}");
}

#[test]
fn bad_flags_name_the_problem() {
    let (code, _, err) = run(&["start-api", "-t", "no/such/template.yaml"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no/such/template.yaml: no such template. Pass -t/--template FILE, or serve an OpenAPI file with --openapi FILE"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "validate",
        "--openapi",
        "openapi/orders.yaml",
        "--parameter-overrides",
        "A=b",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--parameter-overrides applies to templates"),
        "{err}"
    );
    let (code, _, err) = run(&["validate", "--parameter-overrides", "Broken"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--parameter-overrides: `Broken`: expected KEY=VALUE"),
        "{err}"
    );
}

#[test]
fn bare_openapi_needs_its_stage_variables() {
    let (code, _, err) = run(&["validate", "--openapi", "openapi/orders.yaml"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("uses ${stageVariables.ordersService}, which stage `Prod` does not define"),
        "{err}"
    );
    let (code, out, _) = run(&[
        "validate",
        "--openapi",
        "openapi/orders.yaml",
        "--stage-variable",
        "ordersService=http://127.0.0.1:1",
        "--stage-variable",
        "inventoryService=http://127.0.0.1:2",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "ok: 1 API, 8 routes");
}
