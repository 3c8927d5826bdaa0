//! Access logs end to end: an API's own `AccessLogSetting.Format`, AWS's presets by flag, and
//! a bad format refused at load.

use tollgate_tests::{fixture, get, Emulator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apis_own_format_is_used() {
    let t = fixture("e2e/access_log.yaml");
    let emu = Emulator::start(&["-t", t.to_str().expect("utf8"), "--skip-build"]);
    let r = get(&emu.url("/ping")).await;
    assert_eq!(r.status, 200);
    let id = r.header("x-amzn-requestid").expect("id").to_string();
    let want = format!("{id}|GET|/ping|200|dev");
    let log = emu.wait_for_log(|l| l.iter().any(|x| x == &want));
    assert!(log.contains(&want), "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_preset_by_flag() {
    let f = fixture("e2e/validation.yaml");
    let emu = Emulator::start(&[
        "--openapi",
        f.to_str().expect("utf8"),
        "--access-log-format",
        "json",
    ]);
    let r = get(&emu.url("/nowhere")).await;
    assert_eq!(r.status, 403);
    let id = r.header("x-amzn-requestid").expect("id").to_string();
    let log = emu.wait_for_log(|l| l.iter().any(|x| x.contains(&id)));
    let line = log
        .iter()
        .find(|x| x.contains(&id))
        .expect("a line for the request");
    let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    assert_eq!(v["status"], "403");
    assert_eq!(v["httpMethod"], "GET");
}

#[test]
fn a_rest_format_without_the_request_id_is_a_load_error() {
    let dir = std::env::temp_dir().join(format!("tollgate-bad-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let t = dir.join("template.yaml");
    let text = std::fs::read_to_string(fixture("e2e/access_log.yaml"))
        .expect("fixture")
        .replace("$context.requestId|", "");
    std::fs::write(&t, text).expect("write");
    let out = std::process::Command::new(tollgate_tests::tollgate_bin())
        .args(["validate", "-t"])
        .arg(&t)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("/Resources/LoggedApi/Properties/AccessLogSetting/Format")
            && err.contains("must contain $context.requestId"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
