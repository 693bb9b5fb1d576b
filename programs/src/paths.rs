//! Path normalisation shared by the grates that resolve paths themselves
//! (imfs resolves them in memory; archive maps them under its archive dir).
//!
//! A path is kept as its components. `..` at the root stays at the root, as
//! it does on Linux, which is also what keeps an archive copy from escaping
//! its archive directory.

/// Components of `path` resolved against the absolute `cwd`; `.` and empty
/// components dropped, `..` pops (never above the root).
pub fn resolve(cwd: &str, path: &str) -> Vec<String> {
    let mut comps = if path.starts_with('/') {
        Vec::new()
    } else {
        split(cwd)
    };
    push_all(&mut comps, path);
    comps
}

/// Resolves `path` against already-resolved components `base`.
pub fn resolve_from(base: &[String], path: &str) -> Vec<String> {
    let mut comps = if path.starts_with('/') {
        Vec::new()
    } else {
        base.to_vec()
    };
    push_all(&mut comps, path);
    comps
}

/// Components of an absolute or relative path, normalised from the root.
pub fn split(path: &str) -> Vec<String> {
    let mut comps = Vec::new();
    push_all(&mut comps, path);
    comps
}

fn push_all(comps: &mut Vec<String>, path: &str) {
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                comps.pop();
            }
            name => comps.push(name.to_string()),
        }
    }
}

/// The absolute path of `comps`: `/` for the root.
pub fn absolute(comps: &[String]) -> String {
    format!("/{}", comps.join("/"))
}

/// `comps` placed under the directory `root` (a path on the grate's own
/// filesystem view).
pub fn under(root: &str, comps: &[String]) -> String {
    // A root of "/" trims to "", which joins to "/a/b" as it should.
    let root = root.trim_end_matches('/');
    match (comps.is_empty(), root.is_empty()) {
        (true, true) => "/".to_string(),
        (true, false) => root.to_string(),
        (false, _) => format!("{root}/{}", comps.join("/")),
    }
}

/// Whether `path` starts with the components `prefix`.
pub fn has_prefix(path: &[String], prefix: &[String]) -> bool {
    path.len() >= prefix.len() && path[..prefix.len()] == *prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn relative_paths_resolve_against_the_cwd() {
        assert_eq!(resolve("/a/b", "c/./d"), v(&["a", "b", "c", "d"]));
        assert_eq!(resolve("/a/b", "../c"), v(&["a", "c"]));
        assert_eq!(resolve("/a", "/x//y/"), v(&["x", "y"]));
        assert_eq!(resolve("/", "."), v(&[]));
    }

    #[test]
    fn dot_dot_never_climbs_above_the_root() {
        assert_eq!(resolve("/", "../../etc/passwd"), v(&["etc", "passwd"]));
        assert_eq!(resolve("/a", "../../../b"), v(&["b"]));
        assert_eq!(under("arch", &resolve("/", "../../x")), "arch/x");
    }

    #[test]
    fn absolute_and_under_render_components() {
        assert_eq!(absolute(&[]), "/");
        assert_eq!(absolute(&v(&["a", "b"])), "/a/b");
        assert_eq!(under("arch/", &v(&["a", "b"])), "arch/a/b");
        assert_eq!(under("arch", &[]), "arch");
        assert_eq!(under("/", &v(&["a"])), "/a");
        assert_eq!(under("", &v(&["a"])), "/a");
    }

    #[test]
    fn resolve_from_and_prefix() {
        let base = v(&["d"]);
        assert_eq!(resolve_from(&base, "f"), v(&["d", "f"]));
        assert_eq!(resolve_from(&base, "/f"), v(&["f"]));
        assert!(has_prefix(&v(&["d", "f"]), &base));
        assert!(!has_prefix(&v(&["e", "f"]), &base));
    }
}
