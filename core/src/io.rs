//! Reading matrices from the files researchers already have: CSV (what a
//! spreadsheet or `np.savetxt` writes) and NumPy's `.npy` (what `np.save`
//! writes), so a paper's exact data, labels and weights can be rerun.

use crate::error::CoreError;
use std::path::Path;

/// A dense row-major matrix read from a file. A 1-D array is one column.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

/// Reads `path` by its extension: `.npy`, otherwise delimited text.
pub fn read_matrix(path: &Path) -> Result<Matrix, CoreError> {
    let bytes = std::fs::read(path).map_err(|e| CoreError::Parse(e.to_string()))?;
    let is_npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        parse_npy(&bytes)
    } else {
        let text =
            String::from_utf8(bytes).map_err(|_| CoreError::Parse("not UTF-8 text".to_string()))?;
        parse_csv(&text)
    }
}

/// Comma-, semicolon-, tab- or space-separated numbers, one row per line;
/// blank lines and `#` comments are skipped. The first line is a header
/// only when none of its fields is a number, so a data row with a typo is an
/// error rather than a header, and no row is ever dropped. A row index
/// (pandas' `df.to_csv(path)` writes one: a header whose first name is
/// empty, or a first column 0, 1, …, n−1 under a header) is refused: it
/// would be read as a feature.
pub fn parse_csv(text: &str) -> Result<Matrix, CoreError> {
    let mut data = Vec::new();
    let mut rows = 0;
    let mut cols = None;
    // The header's line number and first name, if the file has one.
    let mut header: Option<(usize, String)> = None;
    for (lineno, line) in text.lines().enumerate() {
        let lineno = lineno + 1;
        let line = line.split('#').next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line
            .split([',', ';', '\t', ' '])
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect();
        let parsed: Vec<Option<f64>> = fields.iter().map(|f| f.parse().ok()).collect();
        let first_line = rows == 0 && cols.is_none() && header.is_none();
        if first_line && parsed.iter().all(Option::is_none) {
            if line.trim_start_matches(' ').starts_with([',', ';', '\t']) {
                return Err(CoreError::Parse(index_column(
                    lineno,
                    "the header's first name is empty",
                )));
            }
            header = Some((lineno, fields[0].to_owned()));
            continue;
        }
        if let Some(k) = parsed.iter().position(Option::is_none) {
            let why = if first_line {
                "other fields of the first row are, so it is neither a header nor data"
            } else {
                "a data row holds numbers only"
            };
            return Err(CoreError::Parse(format!(
                "line {lineno}, field {}: '{}' is not a number ({why})",
                k + 1,
                fields[k]
            )));
        }
        match cols {
            None => cols = Some(parsed.len()),
            Some(c) if c != parsed.len() => {
                return Err(CoreError::Parse(format!(
                    "line {lineno}: {} values, but earlier rows have {c}",
                    parsed.len()
                )));
            }
            Some(_) => {}
        }
        data.extend(parsed.into_iter().flatten());
        rows += 1;
    }
    let cols = cols.ok_or_else(|| CoreError::Parse("no numbers in the file".into()))?;
    let counts = (0..rows).all(|i| data[i * cols] == i as f64);
    if let Some((lineno, name)) = header
        && rows >= 2
        && cols >= 2
        && counts
    {
        return Err(CoreError::Parse(index_column(
            lineno,
            &format!("its first column '{name}' is 0, 1, …, {}", rows - 1),
        )));
    }
    Ok(Matrix { rows, cols, data })
}

/// The error for a CSV file whose first column is a row index.
fn index_column(lineno: usize, why: &str) -> String {
    format!(
        "line {lineno}: {why}, a row index (pandas' df.to_csv writes one), not a feature: \
         write the file with df.to_csv(path, index=False), or without the header if the \
         column is a feature"
    )
}

/// NumPy's format (versions 1–3): magic, header dict, raw little-endian data.
/// Accepts float64, float32 and integer arrays of one or two dimensions in C
/// or Fortran order.
pub fn parse_npy(bytes: &[u8]) -> Result<Matrix, CoreError> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(CoreError::Parse("not a .npy file (bad magic)".into()));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(CoreError::Parse(format!("unsupported .npy version {v}"))),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| CoreError::Parse("truncated .npy header".into()))?;
    let descr = dict_value(header, "descr")
        .ok_or_else(|| CoreError::Parse("no 'descr' in .npy header".into()))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let fortran = dict_value(header, "fortran_order")
        .ok_or_else(|| CoreError::Parse("no 'fortran_order'".into()))?
        == "True";
    let shape_text = dict_value(header, "shape")
        .ok_or_else(|| CoreError::Parse("no 'shape' in .npy header".into()))?;
    let shape: Vec<usize> = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| CoreError::Parse(format!("bad shape {shape_text}")))
        })
        .collect::<Result<_, _>>()?;
    let (rows, cols) = match shape[..] {
        [r] => (r, 1),
        [r, c] => (r, c),
        _ => {
            return Err(CoreError::Parse(format!(
                "expected a 1-D or 2-D array, got shape {shape_text}"
            )));
        }
    };
    let body = &bytes[start + header_len..];
    let (width, decode): (usize, fn(&[u8]) -> f64) = match descr {
        "<f8" | "=f8" => (8, |b| f64::from_le_bytes(b.try_into().unwrap())),
        "<f4" | "=f4" => (4, |b| f32::from_le_bytes(b.try_into().unwrap()) as f64),
        "<i8" | "=i8" => (8, |b| i64::from_le_bytes(b.try_into().unwrap()) as f64),
        "<i4" | "=i4" => (4, |b| i32::from_le_bytes(b.try_into().unwrap()) as f64),
        other => {
            return Err(CoreError::Parse(format!(
                "unsupported dtype {other} (use float64)"
            )));
        }
    };
    // A damaged header can claim any shape: the product is checked, and
    // must be what the file holds, before anything is allocated.
    let needed = rows.checked_mul(cols).and_then(|n| n.checked_mul(width));
    if needed != Some(body.len()) {
        let needs = needed.map_or("more than fits in memory".to_string(), |n| n.to_string());
        return Err(CoreError::Parse(format!(
            "data section has {} bytes, shape {shape_text} of {descr} needs {needs}",
            body.len()
        )));
    }
    let flat: Vec<f64> = body.chunks_exact(width).map(decode).collect();
    let data = if fortran && cols > 1 {
        (0..rows)
            .flat_map(|i| (0..cols).map(move |j| (i, j)))
            .map(|(i, j)| flat[j * rows + i])
            .collect()
    } else {
        flat
    };
    Ok(Matrix { rows, cols, data })
}

/// The raw text of `key`'s value in a Python dict literal such as
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }`.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(rest[..end].trim())
}

/// Writes a float64 `.npy` (version 1, C order): the inverse of [`parse_npy`],
/// so a run's weights can be handed back to numpy or to `--init`.
pub fn write_npy(rows: usize, cols: Option<usize>, data: &[f64]) -> Vec<u8> {
    let shape = match cols {
        Some(c) => format!("({rows}, {c})"),
        None => format!("({rows},)"),
    };
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so the data starts on a 64-byte boundary, ending in a newline.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    for v in data {
        out.extend(v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_header_comments_and_mixed_separators() {
        let m = parse_csv("a,b\n# comment\n1, 2\n3;4\n\n5\t6\n").unwrap();
        assert_eq!((m.rows, m.cols), (3, 2));
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn csv_header_only_when_no_field_is_a_number() {
        // A typo in the first data row is an error, not a header: no row is dropped.
        let err = parse_csv("0.1,0.2x,0.3\n0.4,0.5,0.6\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("line 1, field 2: '0.2x' is not a number"),
            "{err}"
        );
        let err = parse_csv("a,b\n1,2\n3,x\n").unwrap_err().to_string();
        assert!(err.starts_with("line 3, field 2: 'x'"), "{err}");
        // A second all-text line is not a second header either.
        assert!(
            parse_csv("a,b\nc,d\n1,2\n")
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
        let m = parse_csv("x1,x2\n1,2\n3,4\n").unwrap();
        assert_eq!((m.rows, m.cols), (2, 2));
    }

    #[test]
    fn csv_row_index_columns_are_refused_with_the_fix() {
        for text in [
            ",a,b\n0,0.5,0.25\n1,0.5,0.75\n",
            "idx,a,b\n0,0.5,0.25\n1,0.5,0.75\n2,1,1\n",
            "\ta\tb\n0\t0.5\t0.25\n",
        ] {
            let err = parse_csv(text).unwrap_err().to_string();
            assert!(
                err.contains("df.to_csv(path, index=False)"),
                "{text:?}: {err}"
            );
        }
        // Without a header, or not counting 0..n-1, the first column is a feature.
        assert_eq!(parse_csv("0,0.5\n1,0.5\n").unwrap().cols, 2);
        assert_eq!(parse_csv("t,a\n1,0.5\n2,0.5\n").unwrap().cols, 2);
    }

    #[test]
    fn npy_shape_larger_than_the_file_is_refused_without_allocating() {
        let header =
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        // 2^62·4·8 wraps to 0 in unchecked arithmetic: an empty body matched.
        let err = parse_npy(&bytes).unwrap_err().to_string();
        assert!(err.contains("needs more than fits in memory"), "{err}");
    }

    #[test]
    fn csv_ragged_rows_are_refused() {
        let err = parse_csv("1,2\n3\n").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn npy_round_trips() {
        let data = [1.5, -2.0, 3.25, 4.0, 5.0, 6.0];
        let m = parse_npy(&write_npy(2, Some(3), &data)).unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.data, data);
        let v = parse_npy(&write_npy(6, None, &data)).unwrap();
        assert_eq!((v.rows, v.cols), (6, 1));
    }

    #[test]
    fn npy_fortran_order_is_transposed_to_row_major() {
        let header = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        // Column-major storage of [[1,2,3],[4,5,6]].
        for v in [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0] {
            bytes.extend(v.to_le_bytes());
        }
        let m = parse_npy(&bytes).unwrap();
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn npy_truncated_data_is_refused() {
        let mut bytes = write_npy(2, Some(2), &[1.0, 2.0, 3.0, 4.0]);
        bytes.truncate(bytes.len() - 3);
        assert!(parse_npy(&bytes).unwrap_err().to_string().contains("bytes"));
    }
}
