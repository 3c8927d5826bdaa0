//! The dashboard in a real headless Chromium (Debian's `chromium`, driven by `playwright-core`
//! from npm; `scripts/test.sh` installs both): page load, live requests, filtering, a stage
//! timeline. The screenshot is kept at `target/test-artifacts/dashboard.png`.

use tollgate_tests::{repo_root, Emulator};

#[test]
fn the_dashboard_shows_routes_live_requests_and_timelines() {
    let chromium = std::env::var("TOLLGATE_TEST_CHROMIUM").unwrap_or_else(|_| {
        panic!("TOLLGATE_TEST_CHROMIUM is not set: run the suite with scripts/test.sh, which installs Debian's chromium and playwright-core")
    });
    let playwright = std::env::var("TOLLGATE_TEST_PLAYWRIGHT").unwrap_or_else(|_| {
        panic!("TOLLGATE_TEST_PLAYWRIGHT is not set: run the suite with scripts/test.sh")
    });
    let emu = Emulator::start(&[
        "--openapi",
        "openapi/orders.yaml",
        "--stage-variable",
        "ordersService=http://127.0.0.1:9",
        "--stage-variable",
        "inventoryService=http://127.0.0.1:9",
        "--admin-port",
        "0",
        "--api-keys",
        "tests/fixtures/e2e/dashboard-keys.json",
    ]);
    let admin = emu
        .stderr()
        .into_iter()
        .find_map(|l| l.strip_prefix("tollgate admin on ").map(str::to_string))
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .expect("the admin address is printed");
    let artifacts = repo_root().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");
    let shot = artifacts.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let out = std::process::Command::new("node")
        .arg(repo_root().join("tests/browser/dashboard.mjs"))
        .env("TOLLGATE_CHROMIUM", chromium)
        .env("TOLLGATE_PLAYWRIGHT", playwright)
        .env("DASHBOARD_URL", format!("{admin}/"))
        .env("API_URL", emu.url(""))
        .env("SCREENSHOT", &shot)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "the browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the script prints its findings");
    assert!(
        summary["routes"].as_u64().is_some_and(|n| n >= 5),
        "{summary}"
    );
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
        "a screenshot is kept"
    );
}
