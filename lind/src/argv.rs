//! Argument vectors: from the process, and for `execv`.

use boundary::Errno;
use std::ffi::CString;

/// The process arguments, argv\[0\] included, as a grate's `main` gets
/// them. Bytes that are not UTF-8 are replaced rather than aborting the run.
pub(crate) fn process_args() -> Vec<String> {
    from_os(std::env::args_os())
}

fn from_os(args: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<String> {
    args.into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// The C strings `execv(argv[0], argv)` needs. An empty vector has no path
/// (EFAULT, as the engines' own execve reports it); an argument with an
/// interior NUL cannot be passed (EINVAL).
pub(crate) fn exec_cstrings(argv: &[String]) -> Result<Vec<CString>, Errno> {
    if argv.is_empty() {
        return Err(Errno::EFAULT);
    }
    argv.iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| Errno::EINVAL))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn exec_cstrings_keep_order_and_argv0() {
        let argv = vec!["archive-grate.cwasm".to_string(), "/archive".to_string()];
        let c = exec_cstrings(&argv).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].to_bytes(), b"archive-grate.cwasm");
        assert_eq!(c[1].to_bytes(), b"/archive");
    }

    #[test]
    fn exec_of_nothing_is_efault() {
        assert_eq!(exec_cstrings(&[]), Err(Errno::EFAULT));
    }

    #[test]
    fn interior_nul_is_einval() {
        let argv = vec!["a\0b".to_string()];
        assert_eq!(exec_cstrings(&argv), Err(Errno::EINVAL));
    }

    #[test]
    fn markers_pass_through_unchanged() {
        let args =
            from_os(["tee-grate.cwasm", "%{", "x.cwasm", "%}", "app.cwasm"].map(OsString::from));
        assert_eq!(
            args,
            ["tee-grate.cwasm", "%{", "x.cwasm", "%}", "app.cwasm"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_argument_is_replaced_not_fatal() {
        use std::os::unix::ffi::OsStringExt;
        let args = from_os([OsString::from_vec(vec![b'a', 0xff])]);
        assert_eq!(args, ["a\u{fffd}"]);
    }
}
