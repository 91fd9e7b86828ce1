//! A grid's data, labels, init and outer files, checked for every point before
//! anything runs, the way `sharpsweep run` reads them: each must exist and
//! hold finite numbers of the point's shape, and n, d (from the data file)
//! and m (from the init file) come from the file where the grid does not
//! set them. Each distinct file is read once.

use sharpsweep_core::{CoreError, RunConfig, Source, data};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The shapes of the files read so far, by path.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Files {
    shapes: HashMap<PathBuf, (usize, usize)>,
}

impl Files {
    fn shape(&mut self, path: &Path, field: &str) -> Result<(usize, usize), CoreError> {
        if let Some(&shape) = self.shapes.get(path) {
            return Ok(shape);
        }
        let shape = data::file_shape(path, field)?;
        self.shapes.insert(path.to_path_buf(), shape);
        Ok(shape)
    }

    /// Sets n and d from `config`'s data file and m from its init file
    /// where `given` says the grid does not set them, returning the keys so
    /// set with their values.
    pub(crate) fn complete(
        &mut self,
        config: &mut RunConfig,
        given: impl Fn(&str) -> bool,
    ) -> Result<Vec<(&'static str, usize)>, CoreError> {
        let mut set = Vec::new();
        if let Source::File(p) = &config.data {
            let (rows, cols) = self.shape(p, "data")?;
            for (key, value, field) in [("n", rows, &mut config.n), ("d", cols, &mut config.d)] {
                if !given(key) {
                    *field = value;
                    set.push((key, value));
                }
            }
        }
        if let Source::File(p) = &config.init
            && !given("m")
        {
            config.m = self.shape(p, "init")?.0;
            set.push(("m", config.m));
        }
        Ok(set)
    }

    /// Checks that every file of `config` has the shape its values need.
    pub(crate) fn check(&mut self, config: &RunConfig) -> Result<(), CoreError> {
        let (m, n, d) = (config.m, config.n, config.d);
        let files = [
            (path(&config.data), "data", n, d),
            (path(&config.labels), "labels", n, 1),
            (path(&config.init), "init", m, d),
            (path(&config.outer), "outer", m, 1),
        ];
        for (p, field, rows, cols) in files {
            if let Some(p) = p {
                let shape = self.shape(p, field)?;
                data::check_shape(p, field, shape, rows, cols)?;
            }
        }
        Ok(())
    }
}

fn path<G>(source: &Source<G>) -> Option<&Path> {
    match source {
        Source::File(p) => Some(p),
        Source::Generate(_) => None,
    }
}
