//! Fuzz the VTL parser and evaluator: any input either fails with an error or renders, within
//! the render limits; nothing panics, overflows the stack or runs away.
#![no_main]

#[path = "../../src/mapping/vtl/mod.rs"]
#[allow(dead_code, unused_imports)]
mod vtl;

use libfuzzer_sys::fuzz_target;
use vtl::{RenderOptions, Template, Value, Vars};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(template) = Template::parse("fuzz", src) else {
        return;
    };
    let mut vars = Vars::new();
    vars.insert(
        "m".into(),
        Value::from_json(&serde_json::json!({"a": 1, "l": [1, "x", {"k": null}], "s": "text"})),
    );
    vars.insert("s".into(), Value::str("hello"));
    let opts = RenderOptions {
        max_steps: 200_000,
        max_len: 1 << 20,
        ..RenderOptions::API_GATEWAY
    };
    let _ = template.render(&mut vars, opts);
});
