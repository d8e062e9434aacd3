//! Fuzzes the grammar: no input may make parsing, `is_complete` or error
//! rendering panic, and parsed spans must be valid for the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|src: &str| {
    match quiver_grammar::parse_script(src) {
        Ok(stmts) => {
            for stmt in stmts {
                let span = stmt.span;
                assert!(src.get(span.start..span.end).is_some(), "bad span {span:?}");
                let _ = stmt.node.to_string();
            }
        }
        Err(err) => {
            assert!(err.line >= 1 && err.column >= 1);
            let _ = err.render();
            let _ = err.to_string();
        }
    }
    if let Err(err) = quiver_grammar::parse_statement(src) {
        let _ = err.render();
    }
    let _ = quiver_grammar::is_complete(src);
});
