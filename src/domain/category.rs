//! The store's product categories and the sets of them a credit or code is valid for.

use std::fmt;
use std::str::FromStr;

/// A catalog category. A promotional credit is valid for a set of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Music,
    Kindle,
    Video,
    Software,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Music,
        Category::Kindle,
        Category::Video,
        Category::Software,
    ];

    /// The name used in URLs, forms, markup hooks and the database.
    pub fn slug(self) -> &'static str {
        match self {
            Category::Music => "music",
            Category::Kindle => "kindle",
            Category::Video => "video",
            Category::Software => "software",
        }
    }

    /// The name a shopper reads.
    pub fn label(self) -> &'static str {
        match self {
            Category::Music => "Digital Music",
            Category::Kindle => "Kindle",
            Category::Video => "Instant Video",
            Category::Software => "Software",
        }
    }

    /// This category's bit in a [`CategorySet`] (and in the `categories` columns).
    const fn bit(self) -> u8 {
        match self {
            Category::Music => 1,
            Category::Kindle => 2,
            Category::Video => 4,
            Category::Software => 8,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category {0:?}: use music, kindle, video or software")]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;
    fn from_str(slug: &str) -> Result<Category, UnknownCategory> {
        Category::ALL
            .into_iter()
            .find(|category| category.slug() == slug)
            .ok_or_else(|| UnknownCategory(slug.chars().take(40).collect()))
    }
}

/// A set of categories, stored as a bit mask (music = 1, kindle = 2, video = 4,
/// software = 8) so that the balance query can test membership without a join.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CategorySet(u8);

impl CategorySet {
    pub const EMPTY: CategorySet = CategorySet(0);
    pub const EVERY: CategorySet = CategorySet(0b1111);

    pub fn from_bits(bits: i64) -> Option<CategorySet> {
        u8::try_from(bits)
            .ok()
            .filter(|bits| *bits <= CategorySet::EVERY.0)
            .map(CategorySet)
    }

    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    pub fn contains(self, category: Category) -> bool {
        self.0 & category.bit() != 0
    }

    pub fn with(self, category: Category) -> CategorySet {
        CategorySet(self.0 | category.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL
            .into_iter()
            .filter(move |category| self.contains(*category))
    }

    /// Parses a comma-separated list of slugs such as `music,kindle`.
    pub fn parse_list(list: &str) -> Result<CategorySet, UnknownCategory> {
        list.split(',')
            .map(str::trim)
            .filter(|slug| !slug.is_empty())
            .try_fold(CategorySet::EMPTY, |set, slug| Ok(set.with(slug.parse()?)))
    }

    /// "Digital Music and Kindle", "Digital Music, Kindle and Software".
    pub fn describe(self) -> String {
        let labels: Vec<&str> = self.iter().map(Category::label).collect();
        match labels.as_slice() {
            [] => String::new(),
            [only] => (*only).to_string(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        }
    }
}

impl FromIterator<Category> for CategorySet {
    fn from_iter<I: IntoIterator<Item = Category>>(categories: I) -> CategorySet {
        categories.into_iter().fold(CategorySet::EMPTY, CategorySet::with)
    }
}

impl fmt::Debug for CategorySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(Category::slug)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip() {
        for category in Category::ALL {
            assert_eq!(category.slug().parse::<Category>(), Ok(category));
        }
        assert!("Music".parse::<Category>().is_err());
        assert!("gift-card".parse::<Category>().is_err());
    }

    #[test]
    fn a_list_parses_into_a_set() {
        let set = CategorySet::parse_list("music, kindle").unwrap();
        assert!(set.contains(Category::Music));
        assert!(set.contains(Category::Kindle));
        assert!(!set.contains(Category::Video));
        assert_eq!(set.bits(), 3);
        assert!(CategorySet::parse_list("music,books").is_err());
        assert!(CategorySet::parse_list("").unwrap().is_empty());
    }

    #[test]
    fn bits_outside_the_four_categories_are_refused() {
        assert_eq!(CategorySet::from_bits(15), Some(CategorySet::EVERY));
        assert_eq!(CategorySet::from_bits(16), None);
        assert_eq!(CategorySet::from_bits(-1), None);
    }

    #[test]
    fn describes_a_set_in_words() {
        let set: CategorySet = [Category::Music, Category::Kindle].into_iter().collect();
        assert_eq!(set.describe(), "Digital Music and Kindle");
        assert_eq!(
            CategorySet::EVERY.describe(),
            "Digital Music, Kindle, Instant Video and Software"
        );
    }
}
