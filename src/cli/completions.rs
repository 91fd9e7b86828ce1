//! `sharpsweep completions SHELL`: the shell's completion script, generated
//! from the same clap definitions as the parser (clap_complete).

use super::CliError;
use clap_complete::Shell;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

pub fn main(args: Args, mut command: clap::Command) -> Result<(), CliError> {
    // Generated into memory: clap_complete panics on a write error, and a
    // closed pipe is not worth one.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "sharpsweep", &mut script);
    super::print_text(&String::from_utf8_lossy(&script));
    Ok(())
}
