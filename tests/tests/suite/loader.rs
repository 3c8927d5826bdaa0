//! Loading API definitions: every supported form, and every error message for broken input.

use std::collections::HashMap;
use std::path::PathBuf;

use gateway::load::{load, Loaded, Source};
use gateway::spec::extensions::{ApiKeySource, AuthType, AuthorizerType, ResponseType};
use gateway::spec::{load_api, yaml::read_document, ApiKind, RouteMethod};
use gateway::Integration;
use gateway::LoadErrors;
use indexmap::IndexMap;
use tollgate_tests::fixture;

fn openapi(paths: &[&str]) -> Result<Loaded, LoadErrors> {
    load(&Source::OpenApi {
        paths: paths.iter().map(|p| fixture(p)).collect(),
        kind: None,
        stage_name: None,
        stage_variables: IndexMap::new(),
    })
}

fn template(path: &str, overrides: &[(&str, &str)]) -> Result<Loaded, LoadErrors> {
    load(&Source::Template {
        path: fixture(path),
        parameter_overrides: overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
    })
}

/// Each warning as printed, without the fixtures' folder and without line and column.
fn warning_lines(warnings: &[gateway::LoadError]) -> Vec<String> {
    error_lines(&LoadErrors(warnings.to_vec()))
}

/// Each error as printed, without the fixtures' folder and without line and column (the
/// `positions_*` tests check those).
fn error_lines(e: &LoadErrors) -> Vec<String> {
    let root = fixture("");
    e.iter()
        .map(|e| {
            let mut e = e.clone();
            e.at = None;
            e.to_string().replace(&root.display().to_string(), "")
        })
        .collect()
}

#[test]
fn positions_name_the_line_and_column_of_each_error() {
    let err = openapi(&["broken/bad_paths.yaml"]).expect_err("errors");
    let at: Vec<(usize, usize)> = err.iter().filter_map(|e| e.at).collect();
    assert_eq!(at, [(5, 5), (9, 5), (17, 5)], "{err}");
    assert!(err
        .to_string()
        .contains("bad_paths.yaml:5:5: /paths/~1files~1{path+}~1meta/get: "));
}

#[test]
fn openapi3_rest_with_every_root_extension() {
    let path = fixture("oas3_rest.yaml");
    let doc = read_document(&path).expect("reads");
    let spec = load_api(&path, "", &doc, None).expect("loads");
    assert_eq!(spec.kind, ApiKind::Rest);
    assert_eq!(spec.root.api_key_source, Some(ApiKeySource::Authorizer));
    assert_eq!(spec.root.binary_media_types, vec!["image/png", "*/*"]);
    assert_eq!(spec.root.minimum_compression_size, Some(1024));
    assert_eq!(spec.root.request_validator.as_deref(), Some("params-only"));
    assert!(spec.root.request_validators["all"].validate_request_body);
    assert!(spec.root.policy.is_some());
    assert!(spec.root.documentation.is_some());
    assert_eq!(
        spec.root
            .endpoint_configuration
            .as_ref()
            .and_then(|e| e.disable_execute_api_endpoint),
        Some(true)
    );
    let auth = spec.security_schemes["tokenAuth"]
        .authorizer
        .as_ref()
        .expect("authorizer");
    assert_eq!(auth.kind, AuthorizerType::Token);
    assert_eq!(auth.authorizer_result_ttl_in_seconds, Some(60));
    assert_eq!(
        spec.security_schemes["tokenAuth"].authtype.as_deref(),
        Some("custom")
    );

    let get_pet = spec
        .operations
        .iter()
        .find(|o| o.path == "/pets/{petId}")
        .expect("op");
    assert_eq!(
        get_pet.auth.as_ref().map(|a| a.kind),
        Some(AuthType::AwsIam)
    );
    // Path-level parameters apply to the operation.
    assert!(get_pet
        .parameters
        .iter()
        .any(|p| p.name == "petId" && p.required));
    let list = spec
        .operations
        .iter()
        .find(|o| o.path == "/pets")
        .expect("op");
    assert_eq!(list.request_validator.as_deref(), Some("all"));
    assert_eq!(list.responses["200"].headers, vec!["X-Total"]);

    let loaded = openapi(&["oas3_rest.yaml"]).expect("resolves");
    let api = &loaded.apis[0];
    assert_eq!(api.name, "oas3_rest");
    assert_eq!(api.stage.name, "Prod");
    assert_eq!(api.routes.len(), 3);
    assert!(api
        .gateway_responses
        .contains_key(&ResponseType::MissingAuthenticationToken));
    let proxy = api
        .routes
        .iter()
        .find(|r| r.resource_path == "/{proxy+}")
        .expect("route");
    assert_eq!(proxy.method, RouteMethod::Any);
    match &api
        .routes
        .iter()
        .find(|r| r.resource_path == "/pets/{petId}")
        .expect("r")
        .integration
    {
        Integration::HttpProxy(h) => {
            assert_eq!(h.timeout.as_millis(), 2500);
            assert_eq!(h.request_parameters.len(), 1);
        }
        other => panic!("expected HTTP_PROXY, got {other:?}"),
    }
    // The TOKEN authorizer with no identitySource reads the header its scheme names.
    let list_route = api
        .routes
        .iter()
        .find(|r| r.resource_path == "/pets")
        .expect("route");
    match &list_route.auth {
        gateway::RouteAuth::Lambda(a) => {
            assert_eq!(a.function, "Auth");
            assert_eq!(
                a.identity_sources,
                vec![gateway::IdentitySource::Header("Authorization".into())]
            );
            assert_eq!(a.ttl.as_secs(), 60);
        }
        other => panic!("expected a Lambda authorizer, got {other:?}"),
    }
    let pet = api
        .routes
        .iter()
        .find(|r| r.resource_path == "/pets/{petId}")
        .expect("route");
    assert!(pet.api_key_required, "security: [{{api_key: []}}]");
    // The API-wide validator (params-only) applies: the required path parameter is checked,
    // bodies are not.
    let v = pet.validation.as_ref().expect("params-only validator");
    assert_eq!(
        v.required,
        vec![(gateway::spec::ParamLocation::Path, "petId".to_string())]
    );
    assert!(v.models.is_empty());
}

#[test]
fn swagger2_json() {
    let loaded = openapi(&["swagger2.json"]).expect("resolves");
    let api = &loaded.apis[0];
    assert_eq!(api.kind, ApiKind::Rest);
    assert_eq!(api.routes.len(), 2);
    let get = api
        .routes
        .iter()
        .find(|r| r.method == RouteMethod::Get)
        .expect("GET");
    match &get.integration {
        Integration::Mock(m) => {
            assert_eq!(m.responses.select("404").map(|r| r.status), Some(404));
            assert_eq!(m.responses.select("200").map(|r| r.status), Some(200));
        }
        other => panic!("expected MOCK, got {other:?}"),
    }
    let any = api
        .routes
        .iter()
        .find(|r| r.method == RouteMethod::Any)
        .expect("ANY");
    match &any.integration {
        Integration::Lambda(l) => {
            assert!(l.proxy);
            assert_eq!(l.function, "Orders");
        }
        other => panic!("expected AWS_PROXY, got {other:?}"),
    }
    let path = fixture("swagger2.json");
    let spec = load_api(&path, "", &read_document(&path).expect("reads"), None).expect("loads");
    let auth = spec.security_schemes["reqAuth"]
        .authorizer
        .as_ref()
        .expect("authorizer");
    assert_eq!(auth.kind, AuthorizerType::Request);
    assert_eq!(
        auth.identity_source.as_ref().map(|s| s.sources()),
        Some(vec![
            "method.request.header.X-Tenant".to_string(),
            "method.request.querystring.key".to_string()
        ])
    );
    let op = spec
        .operations
        .iter()
        .find(|o| o.method == RouteMethod::Get)
        .expect("op");
    assert!(
        op.parameters.iter().any(|p| p.name == "orderId"),
        "$ref parameter resolved"
    );
}

#[test]
fn http_api_with_default_route_and_shared_integrations() {
    let loaded = openapi(&["http_api.yaml"]).expect("resolves");
    let api = &loaded.apis[0];
    assert_eq!(api.kind, ApiKind::Http);
    assert_eq!(api.stage.name, "$default");
    assert!(api.router.has_default_route());
    let notes = api
        .routes
        .iter()
        .find(|r| r.resource_path == "/notes")
        .expect("route");
    assert_eq!(notes.route_key, "GET /notes");
    match &notes.integration {
        Integration::HttpProxy(h) => assert_eq!(h.timeout.as_millis(), 30000),
        other => panic!("expected HTTP_PROXY, got {other:?}"),
    }
    let default = api
        .routes
        .iter()
        .find(|r| r.route_key == "$default")
        .expect("$default");
    assert_eq!(default.method, RouteMethod::Any);
}

#[test]
fn sam_template_with_intrinsics_globals_and_implicit_apis() {
    let loaded =
        template("sam/template.yaml", &[("Backend", "http://127.0.0.1:7000")]).expect("loads");
    let names: Vec<&str> = loaded.apis.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "InlineApi",
            "IncludedApi",
            "UriHttpApi",
            "ServerlessRestApi",
            "ServerlessHttpApi"
        ]
    );
    let by = |n: &str| loaded.apis.iter().find(|a| a.name == n).expect("api");

    // Fn::If over a condition picks the stage; Ref/Select fill variables.
    let inline = by("InlineApi");
    assert_eq!(inline.stage.name, "dev");
    assert_eq!(inline.stage.variables["backend"], "http://127.0.0.1:7000");
    assert_eq!(inline.stage.variables["zone"], "b");
    // FindInMap set the timeout; ${!literal} kept the stage variable placeholder.
    let proxy = inline
        .routes
        .iter()
        .find(|r| r.resource_path == "/proxy/{proxy+}")
        .expect("r");
    match &proxy.integration {
        Integration::HttpProxy(h) => {
            assert_eq!(h.timeout.as_millis(), 1000);
            assert_eq!(h.uri, "${stageVariables.backend}/{proxy}");
        }
        other => panic!("{other:?}"),
    }
    // The function event with RestApiId joined the explicit API, next to the inline route.
    let orders = inline
        .routes
        .iter()
        .find(|r| r.resource_path == "/orders")
        .expect("r");
    assert!(
        matches!(orders.integration, Integration::Mock(_)),
        "definition wins over the event"
    );
    // SAM GatewayResponses became the extension.
    let r4 = &inline.gateway_responses[&ResponseType::Default4xx];
    assert_eq!(r4.status_code.map(|s| s.0), Some(418));
    assert_eq!(
        r4.response_parameters["gatewayresponse.header.X-Env"],
        "'dev'"
    );

    // AWS::Include resolved intrinsics inside the included file: the function ARN names HelloFunction.
    let included = by("IncludedApi");
    match &included.routes[0].integration {
        Integration::Lambda(l) => assert_eq!(l.function, "HelloFunction"),
        other => panic!("{other:?}"),
    }
    assert!(included.source.ends_with("included.yaml"));

    let http = by("UriHttpApi");
    assert_eq!(http.kind, ApiKind::Http);
    assert_eq!(http.stage.name, "beta");
    assert_eq!(http.stage.variables["env"], "dev");

    // Implicit REST API: stage Prod, Globals.Api binary types (~1 → /), events as aws_proxy routes;
    // the IsProd-only function's route is absent.
    let rest = by("ServerlessRestApi");
    assert_eq!(rest.stage.name, "Prod");
    assert_eq!(rest.binary_media_types, vec!["image/png"]);
    let keys: Vec<&str> = rest.routes.iter().map(|r| r.route_key.as_str()).collect();
    assert_eq!(keys, vec!["GET /hello", "ANY /hello/{proxy+}"]);
    match &rest.routes[0].integration {
        Integration::Lambda(l) => {
            assert!(l.proxy);
            assert_eq!(
                l.function, "HelloFunction",
                "function name local-hello maps to its logical id"
            );
        }
        other => panic!("{other:?}"),
    }

    let http_implicit = by("ServerlessHttpApi");
    assert_eq!(http_implicit.stage.name, "$default");
    let keys: Vec<&str> = http_implicit
        .routes
        .iter()
        .map(|r| r.route_key.as_str())
        .collect();
    assert_eq!(keys, vec!["GET /greet/{name}", "$default"]);
    match &http_implicit.routes[0].integration {
        Integration::Lambda(l) => assert_eq!(l.payload_format_version, "2.0"),
        other => panic!("{other:?}"),
    }

    // Globals merged into the function; FunctionName resolved with the stack-name pseudo-parameter.
    let hello = loaded
        .functions
        .iter()
        .find(|f| f.logical_id == "HelloFunction")
        .expect("fn");
    assert_eq!(hello.name, "local-hello");
    assert_eq!(hello.properties["Runtime"], "provided.al2023");
    assert_eq!(hello.properties["Environment"]["Variables"]["STAGE"], "dev");
    assert!(loaded
        .functions
        .iter()
        .all(|f| f.logical_id != "ProdOnlyFunction"));
}

#[test]
fn sam_parameter_overrides_and_conditions() {
    let loaded = template(
        "sam/template.yaml",
        &[("Backend", "http://127.0.0.1:7000"), ("Env", "prod")],
    )
    .expect("loads");
    let inline = loaded
        .apis
        .iter()
        .find(|a| a.name == "InlineApi")
        .expect("api");
    assert_eq!(inline.stage.name, "live");
    let rest = loaded
        .apis
        .iter()
        .find(|a| a.name == "ServerlessRestApi")
        .expect("api");
    assert!(rest.routes.iter().any(|r| r.route_key == "GET /prod-only"));

    let err =
        template("sam/template.yaml", &[("Backend", "x"), ("Env", "qa")]).expect_err("bad value");
    let lines = error_lines(&err);
    assert_eq!(
        lines,
        ["sam/template.yaml: /Parameters/Env: value `qa` is not allowed: expected one of dev, prod"]
    );
}

#[test]
fn a_parameter_without_a_value_fails_only_what_uses_it() {
    let loaded = template("sam/template.yaml", &[]).expect("loads without Backend");
    let warnings = warning_lines(&loaded.warnings);
    // One warning for the parameter, at its declaration, naming where it is used.
    let about: Vec<&String> = warnings
        .iter()
        .filter(|w| w.contains("parameter `Backend`"))
        .collect();
    assert_eq!(about.len(), 1, "{warnings:#?}");
    assert!(about[0].starts_with("sam/template.yaml: /Parameters/Backend: parameter `Backend` has no Default and no value (pass --parameter-overrides Backend=VALUE); used at line "), "{}", about[0]);
    assert!(
        about[0].contains("/Resources/InlineApi/Properties/Variables/backend/Ref"),
        "{}",
        about[0]
    );
    // The route that reaches the backend through that stage variable is the only one lost.
    let inline = loaded
        .apis
        .iter()
        .find(|a| a.name == "InlineApi")
        .expect("api");
    let proxy = inline
        .routes
        .iter()
        .find(|r| r.route_key == "GET /proxy/{proxy+}")
        .expect("route");
    assert!(
        matches!(proxy.integration, gateway::Integration::Unavailable(_)),
        "{:?}",
        proxy.integration.label()
    );
    assert!(inline
        .routes
        .iter()
        .any(|r| !matches!(r.integration, gateway::Integration::Unavailable(_))));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("GET /proxy/{proxy+} answers 500")),
        "{warnings:#?}"
    );
}

#[test]
fn broken_extensions_report_every_error_with_pointers() {
    let err = openapi(&["broken/bad_extensions.yaml"]).expect_err("broken");
    let lines = error_lines(&err);
    let want = [
        "broken/bad_extensions.yaml: /x-amazon-apigateway-api-key-source: `QUERY` is not valid: expected one of HEADER, AUTHORIZER",
        "broken/bad_extensions.yaml: /x-amazon-apigateway-gateway-responses/NOT_A_TYPE: unknown gateway response type `NOT_A_TYPE`: expected one of ACCESS_DENIED,",
        "broken/bad_extensions.yaml: /paths/~1orders/get/x-amazon-apigateway-integration/type: `lambda` is not valid: expected one of aws, aws_proxy, http, http_proxy, mock",
        "broken/bad_extensions.yaml: /paths/~1orders/post/x-amazon-apigateway-integratoin: unknown extension `x-amazon-apigateway-integratoin`: expected one of x-amazon-apigateway-integration,",
        "broken/bad_extensions.yaml: /paths/~1orders/post/x-amazon-apigateway-integration/requestTemplate: unknown field `requestTemplate`, expected one of",
        // Operations that parsed are still resolved in the same pass.
        "broken/bad_extensions.yaml: /paths/~1orders~1{id}/get/x-amazon-apigateway-integration/uri: `ftp://files/{id}` is not an absolute http:// or https:// URL",
        "broken/bad_extensions.yaml: /paths/~1bad-regex/get/x-amazon-apigateway-integration/responses/[: selection pattern is not a valid regular expression",
    ];
    for w in want {
        assert!(
            lines.iter().any(|l| l.starts_with(w)),
            "missing {w:?} in {lines:#?}"
        );
    }
    assert_eq!(lines.len(), want.len(), "{lines:#?}");
}

#[test]
fn broken_integrations_are_reported_after_parsing() {
    // Fix the parse errors above and the resolve step finds the rest; exercise it with a file
    // whose extensions parse but whose values are wrong.
    let dir = std::env::temp_dir().join(format!("tollgate-loader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("values.yaml");
    std::fs::write(
        &file,
        r#"openapi: 3.0.1
info: {title: values, version: "1"}
paths:
  /a:
    get:
      responses: {}
      x-amazon-apigateway-integration: {type: mock, timeoutInMillis: 99999}
  /b/{id}:
    get:
      responses: {}
      x-amazon-apigateway-integration:
        type: http_proxy
        uri: "ftp://files/{id}"
  /d:
    get:
      responses: {}
      x-amazon-apigateway-integration:
        type: mock
        responses:
          "[": {statusCode: "200"}
  /c:
    get:
      responses: {}
      x-amazon-apigateway-integration:
        type: http_proxy
        uri: "${stageVariables.nope}/x"
"#,
    )
    .expect("write");
    let err = load(&Source::OpenApi {
        paths: vec![file.clone()],
        kind: None,
        stage_name: None,
        stage_variables: IndexMap::new(),
    })
    .expect_err("broken");
    let lines: Vec<String> = err
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.at = None;
            e.to_string().replace(&dir.display().to_string(), "")
        })
        .collect();
    let want = [
        "/values.yaml: /paths/~1a/get/x-amazon-apigateway-integration/timeoutInMillis: 99999 is out of range: expected 50 to 29000",
        "/values.yaml: /paths/~1b~1{id}/get/x-amazon-apigateway-integration/uri: `ftp://files/{id}` is not an absolute http:// or https:// URL",
    ];
    for w in want {
        assert!(
            lines.iter().any(|l| l.starts_with(w)),
            "missing {w:?} in {lines:#?}"
        );
    }
    assert!(
        lines.iter().any(
            |l| l.contains("/responses/[: selection pattern is not a valid regular expression")
        ),
        "{lines:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn broken_paths() {
    let err = openapi(&["broken/bad_paths.yaml"]).expect_err("broken");
    let lines = error_lines(&err);
    let want = [
        "broken/bad_paths.yaml: /paths/~1files~1{path+}~1meta/get: greedy parameter `{path+}` must be the last path segment",
        "broken/bad_paths.yaml: /paths/~1with space/get: segment `with space` has characters API Gateway does not allow",
        "broken/bad_paths.yaml: /paths/~1orders~1{orderId}~1items/get: `{orderId}` conflicts with sibling `{id}`: a resource may have only one variable child",
    ];
    for w in want {
        assert!(
            lines.iter().any(|l| l.starts_with(w)),
            "missing {w:?} in {lines:#?}"
        );
    }
    assert_eq!(lines.len(), want.len(), "{lines:#?}");
}

#[test]
fn not_an_api_and_bad_syntax() {
    let err = openapi(&["broken/not_an_api.yaml", "broken/bad_syntax.yaml"]).expect_err("broken");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 2, "both files reported: {lines:#?}");
    assert_eq!(
        lines[0],
        "broken/not_an_api.yaml: not an API definition: expected an `openapi: 3.0.x` or `swagger: \"2.0\"` field"
    );
    assert!(
        lines[1].starts_with("broken/bad_syntax.yaml: invalid YAML at line"),
        "{}",
        lines[1]
    );
}

#[test]
fn sam_errors_are_all_reported() {
    let err = template("broken/sam_errors.yaml", &[]).expect_err("broken");
    let lines = error_lines(&err);
    let want = [
        "broken/sam_errors.yaml: /Globals/Functoin: `Functoin` is not a Globals section: expected one of Function, Api, HttpApi",
        "broken/sam_errors.yaml: /Resources/Api/Properties/StageName: missing: AWS::Serverless::Api requires StageName",
        "broken/sam_errors.yaml: /Resources/Fn/Properties/Events/Get/Properties/RestApiId: does not name an AWS::Serverless::Api resource in this template",
    ];
    for w in want {
        assert!(
            lines.iter().any(|l| l.starts_with(w)),
            "missing {w:?} in {lines:#?}"
        );
    }
}

#[test]
fn example_template_loads() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let loaded = load(&Source::Template {
        path: root.join("template.yaml"),
        parameter_overrides: HashMap::new(),
    })
    .expect("the README's example loads");
    assert_eq!(loaded.apis.len(), 1);
    assert_eq!(loaded.apis[0].name, "OrdersApi");
    assert!(loaded.apis[0].routes.len() >= 6);
}

#[test]
fn undeclared_method_response_headers_and_statuses_warn() {
    let loaded = template("e2e/mapping.yaml", &[]).expect("resolves");
    let has = |needle: &str| {
        loaded
            .warnings
            .iter()
            .any(|w| w.to_string().contains(needle))
    };
    assert!(
        has("integration response `default` maps header X-Tier, which response 200 does not declare"),
        "{:?}",
        loaded.warnings
    );
    // /gone declares 404 and maps nothing: no warning about it.
    assert!(
        !loaded
            .warnings
            .iter()
            .any(|w| w.to_string().contains("/paths/~1gone")),
        "{:?}",
        loaded.warnings
    );
    // A template with a syntax error is a load error naming the template and its line.
    let dir = std::env::temp_dir().join(format!("tollgate-vtl-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses: {}\n      x-amazon-apigateway-integration:\n        type: mock\n        requestTemplates:\n          application/json: \"#if($a\\n{}\"\n        responses: {default: {statusCode: '200'}}\n",
    )
    .expect("write");
    let err = openapi(&[file.to_str().expect("utf8")]).expect_err("bad template");
    let lines = error_lines(&err);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("requestTemplates/application~1json")
                && l.contains("template line 2, column 1")),
        "{lines:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The example template's deploy resources: SAM's `Ref: OrdersApi.Stage` names the API's stage
/// (following a StageName override), and the usage plan, key and plan-key bind to it.
#[test]
fn the_example_template_binds_its_usage_plan_through_api_stage_refs() {
    let root = tollgate_tests::repo_root();
    let loaded = load(&Source::Template {
        path: root.join("template.yaml"),
        parameter_overrides: HashMap::from([("StageName".to_string(), "dev".to_string())]),
    })
    .expect("template.yaml loads");
    let plan = loaded
        .usage
        .plans
        .iter()
        .find(|p| p.id == "ReportsUsagePlan")
        .expect("the reports plan");
    assert_eq!(plan.api_stages.len(), 1);
    assert_eq!(plan.api_stages[0].api, "OrdersApi");
    assert_eq!(plan.api_stages[0].stage, "dev");
    let key = loaded
        .usage
        .keys
        .iter()
        .find(|k| k.id == "ReportsApiKey")
        .expect("the reports key");
    assert_eq!(key.plans, ["ReportsUsagePlan"]);
    assert!(loaded
        .functions
        .iter()
        .any(|f| f.logical_id == "GatewayFunction"));
}

/// Every environment in stacks/samconfig.toml deploys template.yaml with overrides the template
/// accepts (allowed patterns, known parameters).
#[test]
fn every_stack_environment_loads_the_template() {
    let root = tollgate_tests::repo_root();
    let text = std::fs::read_to_string(root.join("stacks/samconfig.toml")).expect("samconfig");
    let config: toml::Table = toml::from_str(&text).expect("samconfig.toml is TOML");
    let mut envs = Vec::new();
    for (env, sections) in &config {
        let Some(overrides) = sections
            .get("deploy")
            .and_then(|d| d.get("parameters"))
            .and_then(|p| p.get("parameter_overrides"))
            .and_then(|o| o.as_str())
        else {
            continue;
        };
        let parameter_overrides = gateway::sam::parse_parameter_overrides(overrides)
            .unwrap_or_else(|e| panic!("{env}: parameter_overrides: {e}"));
        let stage = parameter_overrides["StageName"].clone();
        let loaded = load(&Source::Template {
            path: root.join("template.yaml"),
            parameter_overrides,
        })
        .unwrap_or_else(|e| panic!("{env}: {}", error_lines(&e).join("\n")));
        assert_eq!(loaded.apis[0].stage.name, stage, "{env}");
        envs.push(env.clone());
    }
    envs.sort();
    assert_eq!(envs, ["dev", "prod"]);
}

/// A file written for AWS::Include (`Fn::Sub` of `${HelloFunction.Arn}`) also serves bare, with
/// `--openapi` and in the gateway Lambda: each resource it names is taken as a function. An
/// operation with both x-tollgate-aggregate and an integration runs the aggregate in tollgate.
#[test]
fn the_example_api_file_serves_bare_with_its_functions_and_aggregate() {
    let root = tollgate_tests::repo_root();
    let loaded = load(&Source::OpenApi {
        paths: vec![root.join("openapi/orders.yaml")],
        kind: None,
        stage_name: None,
        stage_variables: IndexMap::from([
            (
                "ordersService".to_string(),
                "http://127.0.0.1:9".to_string(),
            ),
            (
                "inventoryService".to_string(),
                "http://127.0.0.1:9".to_string(),
            ),
        ]),
    })
    .unwrap_or_else(|e| panic!("{}", error_lines(&e).join("\n")));
    let api = &loaded.apis[0];
    let route = |key: &str| {
        api.routes
            .iter()
            .find(|r| r.route_key == key)
            .unwrap_or_else(|| panic!("no route {key}"))
    };
    match &route("GET /hello/{name}").integration {
        Integration::Lambda(l) => assert_eq!(l.function, "HelloFunction"),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(
            route("GET /dashboard/{userId}").integration,
            Integration::Aggregate(_)
        ),
        "tollgate runs the aggregate, not API Gateway's MOCK fallback"
    );
}

#[test]
fn each_event_calls_the_function_that_declares_it_even_when_names_are_shared() {
    let loaded = template("sam/shared-name.yaml", &[]).expect("loads");
    let api = &loaded.apis[0];
    let lambda = |key: &str| {
        let route = api
            .routes
            .iter()
            .find(|r| r.route_key == key)
            .unwrap_or_else(|| panic!("no route {key}"));
        match &route.integration {
            Integration::Lambda(l) => l.clone(),
            other => panic!("{key}: {}", other.label()),
        }
    };
    let first = lambda("GET /first");
    let second = lambda("GET /second");
    assert_eq!(
        (first.function.as_str(), second.function.as_str()),
        ("First", "Second")
    );
    // A REST Api event's TimeoutInMillis is the integration's timeout too.
    assert_eq!(first.timeout, std::time::Duration::from_millis(1500));
    assert_eq!(second.timeout, std::time::Duration::from_millis(29_000));
    let warnings = warning_lines(&loaded.warnings);
    assert!(
        warnings.iter().any(|w| w.contains(
            "/Resources/Second/Properties/FunctionName: `shared` is also the name of First"
        )),
        "{warnings:#?}"
    );
}
