//! Property tests: the parser and validator never panic, on arbitrary text or on the reference stack
//! with random damage. Every input must end in a stack or in diagnostics.

use proptest::prelude::*;

fn load(text: &str) {
    let env = |_: &str| Some("x-demo-secret-0123456789".to_owned());
    match crate::validate::load("fuzz.toml", text.to_owned(), &env) {
        Ok(s) => {
            // A valid stack also goes through the graph and the baseline check without panicking.
            if let Ok(g) = crate::graph::Graph::new(&s) {
                let _ = g.order();
            }
            let _ = crate::check::check_stack(&s);
        }
        Err(inv) => {
            assert!(!inv.diags.is_empty());
            let _ = inv.render(false);
        }
    }
}

fn reference() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/stacks/zenoo-dev.toml"
    ))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        load(&text);
    }

    #[test]
    fn toml_like_text_never_panics(text in "(\\[[a-z_]{1,12}(\\.[a-z_\"]{1,8}){0,2}\\]\n|[a-z_]{1,10} = (\"[a-z0-9./${}:-]{0,20}\"|[0-9]{1,5}|true|\\[\\]|\\{ \\})\n){0,30}") {
        load(&format!("[stack]\nname = \"f\"\nenvironment = \"dev\"\nregion = \"us-east-1\"\n{text}"));
    }

    #[test]
    fn a_damaged_reference_stack_never_panics(
        cuts in proptest::collection::vec((0usize..20_000, 0usize..40, "\\PC{0,6}"), 1..6)
    ) {
        let mut text = reference();
        for (at, len, insert) in cuts {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + len).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.replace_range(at..end, &insert);
        }
        load(&text);
    }

    #[test]
    fn dropping_lines_of_the_reference_stack_never_panics(drop in proptest::collection::vec(0usize..400, 1..12)) {
        let text: String = reference()
            .lines()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        load(&text);
    }
}
