//! How a record's normalised forms are held. [`Forms`] (a list of strings
//! per comparison) is simple; [`Packed`] holds the same in two allocations,
//! for indexes and passes over a million records. Both are a [`Side`]: what
//! `Model::levels_in` compares.

use super::model::Forms;

/// The forms of one record, comparison by comparison.
pub trait Side {
    /// The forms of comparison `k` (none when the value is missing).
    fn values(&self, k: usize) -> impl Iterator<Item = &str> + Clone;
}

impl Side for Forms {
    fn values(&self, k: usize) -> impl Iterator<Item = &str> + Clone {
        self[k].iter().map(String::as_str)
    }
}

/// A record's forms in one string and one table of bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    text: Box<str>,
    /// `[C, first form of comparison 0..=C, end of form 0..F]`.
    bounds: Box<[u32]>,
}

impl Packed {
    /// Pack `forms`.
    pub fn new(forms: &Forms) -> Packed {
        let c = forms.len();
        let mut bounds = Vec::with_capacity(2 + c + forms.iter().map(Vec::len).sum::<usize>());
        bounds.push(c as u32);
        let mut n = 0u32;
        for f in forms {
            bounds.push(n);
            n += f.len() as u32;
        }
        bounds.push(n);
        let mut text = String::new();
        for form in forms.iter().flatten() {
            text.push_str(form);
            bounds.push(text.len() as u32);
        }
        Packed {
            text: text.into_boxed_str(),
            bounds: bounds.into_boxed_slice(),
        }
    }

    /// The forms again as lists.
    pub fn unpack(&self) -> Forms {
        (0..self.bounds[0] as usize)
            .map(|k| self.values(k).map(str::to_string).collect())
            .collect()
    }

    fn form(&self, i: usize) -> &str {
        let ends = &self.bounds[self.bounds[0] as usize + 2..];
        let start = if i == 0 { 0 } else { ends[i - 1] as usize };
        &self.text[start..ends[i] as usize]
    }
}

impl Side for Packed {
    fn values(&self, k: usize) -> impl Iterator<Item = &str> + Clone {
        let (from, to) = (self.bounds[k + 1] as usize, self.bounds[k + 2] as usize);
        (from..to).map(move |i| self.form(i))
    }
}
