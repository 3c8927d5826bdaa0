//! Python and Node.js handlers run by tollgate's own runtime clients, with nothing installed but
//! `python3` and `node`: the context object, module layouts, completion styles, and the init and
//! invocation errors each client reports, shaped as AWS's clients shape them. The same cases
//! also run through AWS's awslambdaric and aws-lambda-ric and are compared field by field.

use serde_json::{json, Value};
use tollgate_tests::{get, project, send, Emulator};

fn json_of(r: &tollgate_tests::Reply) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.text()))
}

/// Invoke `function` through the Lambda Invoke API of `e`.
async fn invoke(e: &Emulator, function: &str, event: &Value) -> tollgate_tests::Reply {
    send(
        "POST",
        &e.url(&format!("/2015-03-31/functions/{function}/invocations")),
        &[],
        event.to_string(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn python_and_node_handlers_run_with_lambdas_context_and_nothing_installed() {
    let dir = project("runtimes");
    let e = Emulator::start_in(&dir, &[]);
    let py = get(&e.url("/py")).await;
    assert_eq!(py.status, 200, "{}", py.text());
    let py = json_of(&py);
    assert_eq!(py["function_name"], "PyContext");
    assert_eq!(
        py["memory_limit_in_mb"], "256",
        "a string, as in awslambdaric"
    );
    assert_eq!(
        py["invoked_function_arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:PyContext"
    );
    assert_eq!(py["log_group_name"], "/aws/lambda/PyContext");
    assert_eq!(py["remaining_ok"], true);
    assert_eq!(py["trace_id_set"], true);
    assert_eq!(py["aws_request_id"].as_str().map(str::len), Some(36));

    let node = get(&e.url("/node")).await;
    assert_eq!(node.status, 200, "{}", node.text());
    let node = json_of(&node);
    assert_eq!(node["functionName"], "NodeAsync");
    assert_eq!(node["memoryLimitInMB"], "256");
    assert_eq!(node["remainingOk"], true);
    assert_eq!(node["waits"], true);
    assert_eq!(node["path"], "/node");

    // A prebuilt `bootstrap` in CodeUri, found and run in its own folder though the template
    // path was relative to another one.
    assert_eq!(
        get(&e.url("/custom")).await.text(),
        "custom runtime in custom"
    );

    // Code written in the template runs as written (index.js for Node.js).
    let inline = get(&e.url("/node-inline")).await;
    assert_eq!(inline.text(), "inline node /node-inline");
}

#[tokio::test(flavor = "multi_thread")]
async fn module_layouts_and_completion_styles() {
    let dir = project("runtimes");
    let e = Emulator::start_lambda_in(&dir, &[]);
    let nested = invoke(&e, "PyNested", &json!({})).await;
    assert_eq!(
        json_of(&nested),
        json!({"nested": true, "module": "pkg.sub.mod"})
    );
    let esm = invoke(&e, "NodeEsm", &json!({"value": 7})).await;
    assert_eq!(json_of(&esm), json!({"esm": true, "got": 7}));
    let callback = invoke(&e, "NodeCallback", &json!({})).await;
    assert_eq!(
        json_of(&callback),
        json!({"callback": true, "timerRan": true}),
        "the result goes once the event loop has drained"
    );
}

/// The error document each failing function returns, as the Invoke API answers it.
async fn errors(e: &Emulator, functions: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    for f in functions {
        let r = invoke(e, f, &json!({"path": "/x"})).await;
        assert_eq!(r.status, 200, "{f}: {}", r.text());
        assert_eq!(r.header("x-amz-function-error"), Some("Unhandled"), "{f}");
        out.push(json_of(&r));
    }
    out
}

const PYTHON_FAILURES: [&str; 5] = [
    "PyFails",
    "PyMissingModule",
    "PyMissingHandler",
    "PySyntax",
    "PyMalformed",
];

#[tokio::test(flavor = "multi_thread")]
async fn python_errors_are_shaped_as_awslambdaric_shapes_them() {
    let dir = project("runtimes");
    let e = Emulator::start_lambda_in(&dir, &[]);
    let docs = errors(&e, &PYTHON_FAILURES).await;
    let fails = &docs[0];
    assert_eq!(fails["errorType"], "OrderError");
    assert_eq!(fails["errorMessage"], "order 42 is not valid");
    let trace: Vec<&str> = fails["stackTrace"]
        .as_array()
        .expect("stackTrace")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(trace.len(), 2, "the handler's frames only: {trace:#?}");
    assert!(
        trace[0].contains("app.py\", line 28, in fails\n    check(event)"),
        "{trace:#?}"
    );
    assert!(trace[1].contains("in check\n    raise OrderError(\"order 42 is not valid\")"));
    let init: Vec<(&str, &str)> = docs[1..]
        .iter()
        .map(|d| {
            (
                d["errorType"].as_str().unwrap_or_default(),
                d["errorMessage"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        init[0],
        (
            "Runtime.ImportModuleError",
            "Unable to import module 'nope': No module named 'nope'"
        )
    );
    assert_eq!(
        init[1],
        (
            "Runtime.HandlerNotFound",
            "Handler 'nothere' missing on module 'app'"
        )
    );
    assert_eq!(init[2].0, "Runtime.UserCodeSyntaxError");
    assert!(
        init[2].1.starts_with("Syntax error in module 'broken': "),
        "{}",
        init[2].1
    );
    assert_eq!(
        init[3],
        (
            "Runtime.MalformedHandlerName",
            "Bad handler 'app': not enough values to unpack (expected 2, got 1)"
        )
    );
    // Logged for a person: no colour codes when stderr is not a terminal.
    assert!(
        !e.stderr().iter().any(|l| l.contains('\u{1b}')),
        "{:#?}",
        e.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_builtin_python_client_answers_as_awslambdaric_does() {
    // AWS's client, installed by scripts/test.sh in the tests' virtual environment.
    let python = std::env::var("TOLLGATE_PYTHON").unwrap_or_default();
    let has_official = std::process::Command::new(if python.is_empty() {
        "python3"
    } else {
        &python
    })
    .args(["-c", "import awslambdaric"])
    .status()
    .is_ok_and(|s| s.success());
    if !has_official {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have awslambdaric (scripts/test.sh installs it)"
        );
        eprintln!("skipped: awslambdaric is not installed for {python}");
        return;
    }
    let dir = project("runtimes");
    let builtin = Emulator::start_lambda_in(&dir, &[]);
    let official = Emulator::start_lambda_in(&dir, &["--runtime-client", "official"]);
    let mine = errors(&builtin, &PYTHON_FAILURES).await;
    let theirs = errors(&official, &PYTHON_FAILURES).await;
    for ((f, a), b) in PYTHON_FAILURES.iter().zip(&mine).zip(&theirs) {
        for field in ["errorType", "errorMessage", "stackTrace"] {
            assert_eq!(a[field], b[field], "{f}: {field}");
        }
    }
    for f in ["PyNested"] {
        let a = invoke(&builtin, f, &json!({})).await;
        let b = invoke(&official, f, &json!({})).await;
        assert_eq!(json_of(&a), json_of(&b), "{f}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn node_errors_are_shaped_as_aws_lambda_ric_shapes_them() {
    let dir = project("runtimes");
    let e = Emulator::start_lambda_in(&dir, &[]);
    let docs = errors(
        &e,
        &["NodeFails", "NodeMissingModule", "NodeMissingHandler"],
    )
    .await;
    assert_eq!(docs[0]["errorType"], "OrderError");
    assert_eq!(docs[0]["errorMessage"], "order 42 is not valid");
    let trace = docs[0]["trace"].as_array().expect("trace, not stackTrace");
    assert_eq!(trace[0], "OrderError: order 42 is not valid");
    assert!(
        trace
            .iter()
            .any(|l| l.as_str().is_some_and(|l| l.contains("index.js:"))),
        "{trace:#?}"
    );
    assert_eq!(docs[1]["errorType"], "Runtime.ImportModuleError");
    assert!(
        docs[1]["errorMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("Error: Cannot find module 'nope'")),
        "{}",
        docs[1]
    );
    assert_eq!(docs[2]["errorType"], "Runtime.HandlerNotFound");
    assert_eq!(
        docs[2]["errorMessage"],
        "index.nothere is undefined or not exported"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_in_the_terminal_drains_in_flight_calls_before_functions_stop() {
    let dir = project("runtimes");
    let mut e = Emulator::start_in_own_group(&dir, &[]);
    // Warm the function, then interrupt while a call is in flight.
    assert_eq!(get(&e.url("/slow")).await.text(), "slow");
    let url = e.url("/slow");
    let in_flight = tokio::spawn(async move { get(&url).await });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    // The whole foreground group gets SIGINT, as a terminal sends it; the function processes are
    // in groups of their own, so only tollgate hears it, and it lets the call finish.
    e.interrupt_group();
    let r = in_flight.await.expect("join");
    assert_eq!((r.status.as_u16(), r.text().as_str()), (200, "slow"));
    let status = e.wait_exit(std::time::Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn local_layers_are_provided_as_lambda_provides_opt() {
    let dir = project("runtimes");
    let e = Emulator::start_in(&dir, &[]);
    assert_eq!(
        get(&e.url("/py-layer")).await.text(),
        "hello py, from the layer"
    );
    assert_eq!(
        get(&e.url("/node-layer")).await.text(),
        "hello node, from the layer"
    );
    // An ES module imports from the layer too (NODE_PATH alone is CommonJS-only).
    assert_eq!(
        get(&e.url("/node-esm-layer")).await.text(),
        "hello esm, from the layer"
    );
    // A layer from an account cannot be fetched: named at start-up, only its function fails.
    let w = e.stderr();
    assert!(
        w.iter().any(|l| l.contains("/Resources/RemoteLayered/Properties/Layers: its layer `arn:aws:lambda:us-east-1:123456789012:layer:elsewhere:3` is not in this template")),
        "{w:#?}"
    );
    assert_eq!(get(&e.url("/remote-layer")).await.status, 500);
}

#[tokio::test(flavor = "multi_thread")]
async fn declared_dependencies_are_installed_once_as_sam_build_would() {
    let dir = project("runtimes-deps");
    {
        let e = Emulator::start_in(&dir, &[]);
        assert_eq!(get(&e.url("/py")).await.text(), "FromRequirements");
        assert_eq!(get(&e.url("/node")).await.text(), "ms 7200000");
        assert_eq!(get(&e.url("/node-esm")).await.text(), "esm ms 60000");
        // The AWS SDK the managed runtimes include, for code that uses it without bundling it.
        assert_eq!(get(&e.url("/py-sdk")).await.text(), "STS");
        assert_eq!(get(&e.url("/node-sdk")).await.text(), "STSClient");
        let installs = e
            .stderr()
            .iter()
            .filter(|l| l.contains(": installing ") && l.contains("(once; kept in "))
            .count();
        assert_eq!(installs, 4, "{:#?}", e.stderr());
    }
    // The second start finds both in the cache.
    let e = Emulator::start_in(&dir, &[]);
    assert_eq!(get(&e.url("/py")).await.text(), "FromRequirements");
    assert!(
        !e.stderr().iter().any(|l| l.contains(": installing ")),
        "{:#?}",
        e.stderr()
    );
    // --skip-deps leaves them out: the import fails as on AWS without them.
    let skipped = Emulator::start_in(&dir, &["--skip-deps"]);
    assert_eq!(get(&skipped.url("/py")).await.status, 502);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_builtin_node_client_answers_as_aws_lambda_ric_does() {
    // AWS's client (npm aws-lambda-ric, a native build), installed by scripts/test.sh.
    let Ok(ric) = std::env::var("TOLLGATE_TEST_NODE_RIC") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have aws-lambda-ric (scripts/test.sh installs it)"
        );
        eprintln!("skipped: TOLLGATE_TEST_NODE_RIC is not set");
        return;
    };
    let dir = project("runtimes");
    // Where a user has it: node_modules beside the template.
    std::os::unix::fs::symlink(&ric, dir.join("node_modules")).expect("link node_modules");
    let builtin = Emulator::start_lambda_in(&dir, &[]);
    let official = Emulator::start_lambda_in(&dir, &["--runtime-client", "official"]);
    let failures = ["NodeFails", "NodeMissingModule", "NodeMissingHandler"];
    let mine = errors(&builtin, &failures).await;
    let theirs = errors(&official, &failures).await;
    for ((f, a), b) in failures.iter().zip(&mine).zip(&theirs) {
        assert_eq!(a["errorType"], b["errorType"], "{f}: errorType");
        // A missing module's "Require stack" names the client's own file, which differs.
        let message = |doc: &Value| -> String {
            let text = doc["errorMessage"].as_str().unwrap_or_default();
            text.lines()
                .map(|l| if l.starts_with("- ") { "- <client>" } else { l })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(message(a), message(b), "{f}: errorMessage");
        // The stack's first line and the handler's own frames; the rest are each client's.
        let user_frames = |doc: &Value| -> Vec<String> {
            let trace = doc["trace"].as_array().cloned().unwrap_or_default();
            trace
                .iter()
                .filter_map(|l| l.as_str())
                .enumerate()
                .filter(|(i, l)| *i == 0 || l.contains("/node/"))
                .map(|(_, l)| l.to_string())
                .collect()
        };
        assert_eq!(user_frames(a), user_frames(b), "{f}: trace");
    }
    // Not NodeEsmLayered: aws-lambda-ric alone cannot import an ES module's package from
    // NODE_PATH, while Lambda's managed Node.js 18+ runtimes can (aws-behaviour §14); the
    // built-in client follows the managed runtime.
    for (f, event) in [
        ("NodeEsm", json!({"value": 7})),
        ("NodeCallback", json!({})),
        ("NodeLayered", json!({})),
    ] {
        let a = invoke(&builtin, f, &event).await;
        let b = invoke(&official, f, &event).await;
        assert_eq!((a.status, a.text()), (b.status, b.text()), "{f}");
    }
}
