//! Command output on stdout. `tollgate generate-event ... | head` closes the pipe early; that
//! ends tollgate quietly (exit 0), as it ends any other command-line tool, instead of a panic.

use std::io::Write;

/// Write one line to stdout; a closed pipe ends the process.
pub fn line(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// `println!` for command output, ending quietly on a closed pipe.
macro_rules! outln {
    () => {
        $crate::output::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
