//! lindfs paths: what a cage names, normalized as RawPOSIX's `normpath`
//! does, then placed under the runtime's root.

use std::path::{Path, PathBuf};

/// A path as the cage sees it (absolute inside lindfs) and on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub lind: String,
    pub host: PathBuf,
}

/// Normalizes `path` against `base` (an absolute lindfs dir): `.` is
/// dropped and `..` pops, never above `/`, so no path leaves the root;
/// a trailing slash is kept, as normpath keeps it. Symlinks are not
/// resolved here: the host follows them (Lind runs chrooted; a link
/// pointing outside the root is not contained here).
pub(crate) fn normalize(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if !path.starts_with('/') {
        parts.extend(base.split('/').filter(|s| !s.is_empty()));
    }
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    if path.len() > 1 && path.ends_with('/') && out != "/" {
        out.push('/');
    }
    out
}

/// Where lindfs path `lind` lives on the host.
pub(crate) fn to_host(root: &Path, lind: &str) -> PathBuf {
    let rel = lind.trim_start_matches('/');
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    }
}

/// Resolves `path` against `base` under `root`.
pub(crate) fn resolve(root: &Path, base: &str, path: &str) -> Resolved {
    let lind = normalize(base, path);
    Resolved {
        host: to_host(root, &lind),
        lind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_join_the_cwd() {
        assert_eq!(normalize("/a/b", "c/./d"), "/a/b/c/d");
        assert_eq!(normalize("/a", "/x"), "/x");
    }

    #[test]
    fn dot_dot_never_leaves_the_root() {
        assert_eq!(normalize("/", "../../etc/passwd"), "/etc/passwd");
        assert_eq!(normalize("/a", "../.."), "/");
        let r = resolve(Path::new("/lindfs"), "/", "../../x");
        assert_eq!(r.host, PathBuf::from("/lindfs/x"));
    }

    #[test]
    fn trailing_slash_is_kept() {
        assert_eq!(normalize("/", "d/"), "/d/");
        assert_eq!(normalize("/", "/"), "/");
    }
}
