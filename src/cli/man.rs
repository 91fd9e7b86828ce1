//! `sharpsweep man [SUBCOMMAND]`: a roff man page on stdout, generated from
//! the same clap definitions as the parser (clap_mangen).

use super::CliError;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A subcommand's own page (`sharpsweep-sweep(1)`) instead of the overview.
    subcommand: Option<String>,
}

pub fn main(args: Args, mut command: clap::Command) -> Result<(), CliError> {
    // Building names the subcommands as their pages are titled (sharpsweep-sweep)
    // and their synopses (sharpsweep sweep).
    command.build();
    let source = format!("sharpsweep {}", command.get_version().unwrap_or_default());
    let page = match &args.subcommand {
        None => command,
        Some(name) => {
            let names: Vec<String> = command
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            command.find_subcommand(name).cloned().ok_or_else(|| {
                CliError::input(format!(
                    "SUBCOMMAND: no subcommand '{name}' (expected one of {})",
                    names.join(", ")
                ))
            })?
        }
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .source(source)
        .render(&mut roff)
        .map_err(CliError::failure)?;
    super::print_text(&String::from_utf8_lossy(&roff));
    Ok(())
}
