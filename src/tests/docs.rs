//! Generated reference docs stay current: each is rebuilt from the code and compared with the file.
//! `ZINFRA_UPDATE_DOCS=1 cargo test --lib _doc_is_current` rewrites them.

use crate::check;

/// Compares (or, with `ZINFRA_UPDATE_DOCS`, rewrites) `docs/<name>` with what the code generates.
fn current(name: &str, want: &str) {
    let path = format!("{}/docs/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("ZINFRA_UPDATE_DOCS").is_some() {
        std::fs::write(&path, want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/{name} is out of date: run `ZINFRA_UPDATE_DOCS=1 cargo test --lib _doc_is_current`"
    );
}

#[test]
fn rules_doc_is_current() {
    current("rules.md", &check::rules::rules_doc());
}

/// The first block of `kind` in the reference stacks, as written there (comments above it included).
fn example(kind: &str) -> Option<String> {
    ["stacks/zenoo-dev.toml", "stacks/zenoo-prod.toml"]
        .iter()
        .find_map(|p| {
            let text =
                std::fs::read_to_string(format!("{}/{p}", env!("CARGO_MANIFEST_DIR"))).ok()?;
            let lines: Vec<&str> = text.lines().collect();
            let is_header = |l: &str| l.starts_with('[');
            let start = lines.iter().position(|l| {
                l.strip_prefix("[[")
                    .or_else(|| l.strip_prefix('['))
                    .is_some_and(|h| h.starts_with(&format!("{kind}.")))
            })?;
            let end = (start + 1..lines.len())
                .find(|&i| is_header(lines[i]))
                .unwrap_or(lines.len());
            // Stop before the comment lines that introduce the next block.
            let mut end = end;
            while end > start + 1
                && (lines[end - 1].trim().is_empty() || lines[end - 1].starts_with('#'))
            {
                end -= 1;
            }
            Some(lines[start..end].join("\n"))
        })
}

#[test]
fn kinds_doc_is_current() {
    current(
        "kinds.md",
        &crate::kinds::reference::reference(crate::kinds::ALL, &example),
    );
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence = false;
    for line in text.lines() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if fence {
            continue;
        }
        if let Some(h) = line.strip_prefix('#') {
            out.push(slug(h.trim_start_matches('#')));
        }
        for part in line.split("<a id=\"").skip(1) {
            out.extend(part.split('"').next().map(str::to_owned));
        }
    }
    out
}

/// Every relative link of the README and docs/ names a file that exists, and a heading in it.
#[test]
fn links_between_the_docs_resolve() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            files.push(p);
        }
    }
    let mut broken = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let dir = f.parent().unwrap();
        let mut fence = false;
        for line in text.lines() {
            if line.starts_with("```") {
                fence = !fence;
            }
            if fence {
                continue;
            }
            for part in line.split("](").skip(1) {
                let Some(target) = part.split(')').next() else {
                    continue;
                };
                if target.contains("://") || target.contains(' ') || target.starts_with("mailto:") {
                    continue;
                }
                let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
                let file = if path.is_empty() {
                    f.clone()
                } else {
                    dir.join(path)
                };
                let shown = f.strip_prefix(root).unwrap().display();
                if !file.exists() {
                    broken.push(format!("{shown}: {target} (no such file)"));
                } else if !anchor.is_empty()
                    && file.extension().is_some_and(|x| x == "md")
                    && !anchors(&std::fs::read_to_string(&file).unwrap())
                        .iter()
                        .any(|a| a == anchor)
                {
                    broken.push(format!("{shown}: {target} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
