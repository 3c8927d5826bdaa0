//! Mapping-template cost: parsing (done once at load) and rendering (done per request), on the
//! developer guide's PetStore template over bodies of 10 and 1,000 items, and the
//! pass-every-parameter template.

use criterion::{criterion_group, criterion_main, Criterion};
use gateway::vtl::Template;
use gateway::vtl::{render_mapping as render, MappingInput};
use gateway::{ConnInfo, RequestContext};
use std::hint::black_box;

const PETSTORE: &str = r##"#set($inputRoot = $input.path('$'))
[
#foreach($elem in $inputRoot)
  {
    "description" : "Item $elem.id is a $elem.type.",
    "askingPrice" : $elem.price
  }#if($foreach.hasNext),#end

#end
]"##;

const ALL_PARAMS: &str = r##"#set($allParams = $input.params())
{
"body" : $input.json('$'),
"params" : {
#foreach($type in $allParams.keySet())
  #set($params = $allParams.get($type))
"$type" : {
  #foreach($paramName in $params.keySet())
  "$paramName" : "$util.escapeJavaScript($params.get($paramName))"#if($foreach.hasNext),#end
  #end
}#if($foreach.hasNext),#end
#end
},
"context" : {"requestId" : "$context.requestId", "stage" : "$context.stage", "sourceIp" : "$context.identity.sourceIp"}
}"##;

fn pets(n: usize) -> String {
    let items: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"id": i, "type": if i % 2 == 0 { "dog" } else { "cat" }, "price": 10.5 + i as f64}))
        .collect();
    serde_json::Value::Array(items).to_string()
}

fn bench(c: &mut Criterion) {
    let conn = ConnInfo {
        remote: "127.0.0.1:40000".parse().expect("addr"),
        local: "127.0.0.1:3000".parse().expect("addr"),
        tls: false,
    };
    let ctx = RequestContext::new(&http::Method::POST, "/pets", &http::HeaderMap::new(), conn);
    let mut g = c.benchmark_group("vtl");
    g.bench_function("parse_petstore", |b| {
        b.iter(|| Template::parse("petstore", black_box(PETSTORE)).expect("parses"))
    });
    // The fixed cost of any render: building $context, $input and $util.
    let fixed = Template::parse("static", r#"{"statusCode": 200}"#).expect("parses");
    g.bench_function("render_static", |b| {
        b.iter(|| {
            let input = MappingInput {
                body: b"{}",
                path: &[],
                query: &[],
                headers: &Vec::new,
            };
            render(&fixed, &ctx, black_box(&input)).expect("renders")
        })
    });
    let petstore = Template::parse("petstore", PETSTORE).expect("parses");
    for n in [10usize, 1000] {
        let body = pets(n);
        g.bench_function(format!("render_petstore_{n}_items"), |b| {
            b.iter(|| {
                let input = MappingInput {
                    body: body.as_bytes(),
                    path: &[],
                    query: &[],
                    headers: &Vec::new,
                };
                render(&petstore, &ctx, black_box(&input)).expect("renders")
            })
        });
    }
    let all = Template::parse("all-params", ALL_PARAMS).expect("parses");
    let path = vec![("id".to_string(), "42".to_string())];
    let query = vec![
        ("q".to_string(), "it's".to_string()),
        ("page".to_string(), "2".to_string()),
    ];
    let headers: Vec<(String, String)> = (0..12)
        .map(|i| (format!("x-header-{i}"), format!("value {i}")))
        .collect();
    g.bench_function("render_all_params", |b| {
        b.iter(|| {
            let input = MappingInput {
                body: br#"{"order": {"id": 7, "lines": [1, 2, 3]}}"#,
                path: &path,
                query: &query,
                headers: &|| headers.clone(),
            };
            render(&all, &ctx, black_box(&input)).expect("renders")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
