//! The store's departments, which are data (the `categories` table), and the sets
//! of them a credit or discount is valid for.

use std::fmt;

/// A category's reference: its row id. Ids run from 1 to [`MAX_CATEGORIES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryId(u8);

/// How many categories a store can have: a [`CategorySet`] keeps one bit per id.
pub const MAX_CATEGORIES: i64 = 64;

impl CategoryId {
    /// The id of a `categories` row, if it is one a set can hold.
    pub fn new(id: i64) -> Option<CategoryId> {
        u8::try_from(id)
            .ok()
            .filter(|id| (1..=MAX_CATEGORIES).contains(&i64::from(*id)))
            .map(CategoryId)
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }

    fn bit(self) -> u64 {
        1 << (self.0 - 1)
    }
}

/// A category's name in URLs, forms, markup hooks and `--categories` lists:
/// 1 to 32 of `a-z`, `0-9` and `-`, starting and ending with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CategorySlug(String);

/// Slugs that already mean something: the Gift Cards row's hook, and what lists
/// print for gift-card credit.
const RESERVED_SLUGS: [&str; 2] = ["gift-card", "all"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedSlug {
    #[error(
        "a category's slug is 1 to 32 lower-case letters, digits and hyphens, starting and ending with a \
         letter or digit, such as audiobooks"
    )]
    Shape,
    #[error("the slug {0:?} is taken by the store itself; choose another")]
    Reserved(&'static str),
}

impl CategorySlug {
    pub fn parse(slug: &str) -> Result<CategorySlug, MalformedSlug> {
        let letter_or_digit = |byte: u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
        let bytes = slug.as_bytes();
        let fits = (1..=32).contains(&bytes.len())
            && bytes.iter().all(|byte| letter_or_digit(*byte) || *byte == b'-')
            && bytes.first().copied().is_some_and(letter_or_digit)
            && bytes.last().copied().is_some_and(letter_or_digit);
        if !fits {
            return Err(MalformedSlug::Shape);
        }
        if let Some(reserved) = RESERVED_SLUGS.into_iter().find(|reserved| *reserved == slug) {
            return Err(MalformedSlug::Reserved(reserved));
        }
        Ok(CategorySlug(slug.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a shopper reads for a category: 1 to 40 characters with at least one
/// letter or digit, no surrounding spaces, and nothing invisible that could make
/// it look like another or turn the text around it (control characters,
/// zero-width and direction marks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryLabel(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a category's label is 1 to 40 characters a shopper can read, with a letter or digit and no invisible \
     or direction-changing characters, such as \"Audiobooks\""
)]
pub struct MalformedLabel;

/// Characters that show as nothing or change the direction of the text around
/// them: zero-width spaces and joiners, direction marks, embeddings, overrides
/// and isolates, the byte-order mark, the soft hyphen.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

impl CategoryLabel {
    pub fn parse(label: &str) -> Result<CategoryLabel, MalformedLabel> {
        let label = label.trim();
        let fits = (1..=40).contains(&label.chars().count())
            && label.chars().any(char::is_alphanumeric)
            && !label.chars().any(|c| c.is_control() || is_invisible(c));
        if fits {
            Ok(CategoryLabel(label.to_owned()))
        } else {
            Err(MalformedLabel)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One department: a row of the `categories` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    id: CategoryId,
    slug: String,
    label: String,
    position: i64,
    hidden: bool,
}

impl Category {
    /// A category as stored (the store has checked its slug and label), shown.
    pub fn new(id: CategoryId, slug: String, label: String, position: i64) -> Category {
        Category {
            id,
            slug,
            label,
            position,
            hidden: false,
        }
    }

    /// The same category, hidden from shoppers or not.
    pub fn hidden_if(self, hidden: bool) -> Category {
        Category { hidden, ..self }
    }

    /// Hidden by staff: out of the store's navigation and listings, its products
    /// not for sale, no new code for it; credit held in it still shows in its
    /// owner's pop-up.
    pub fn is_hidden(&self) -> bool {
        self.hidden
    }

    /// Its place in display order (lower first).
    pub fn position(&self) -> i64 {
        self.position
    }

    pub fn id(&self) -> CategoryId {
        self.id
    }

    /// The name used in URLs, forms and markup hooks.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The name a shopper reads.
    pub fn label(&self) -> &str {
        &self.label
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category {given:?}: use {known}")]
pub struct UnknownCategory {
    given: String,
    known: String,
}

/// The Gift Cards row of the popup comes after the category at this position
/// (Instant Video), wherever later categories go.
pub const GIFT_CARDS_AFTER_POSITION: i64 = 3;

/// Every category of the store, in display order: a copy of the `categories`
/// table, read when the store opens and again when it changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Categories {
    in_order: Vec<Category>,
}

impl Categories {
    pub fn new(mut categories: Vec<Category>) -> Categories {
        categories.sort_by_key(|category| (category.position, category.id));
        Categories { in_order: categories }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Category> {
        self.in_order.iter()
    }

    pub fn len(&self) -> usize {
        self.in_order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.in_order.is_empty()
    }

    pub fn by_slug(&self, slug: &str) -> Option<&Category> {
        self.in_order.iter().find(|category| category.slug == slug)
    }

    pub fn get(&self, id: CategoryId) -> Option<&Category> {
        self.in_order.iter().find(|category| category.id == id)
    }

    /// Where `id` stands in display order.
    pub fn slot_of(&self, id: CategoryId) -> Option<usize> {
        self.in_order.iter().position(|category| category.id == id)
    }

    /// The categories shoppers see (not hidden), in display order: the
    /// navigation and the store's listings.
    pub fn shown(&self) -> impl Iterator<Item = &Category> {
        self.in_order.iter().filter(|category| !category.hidden)
    }

    /// The categories shoppers see, as a set.
    pub fn shown_set(&self) -> CategorySet {
        self.shown().map(Category::id).collect()
    }

    /// How many categories come before the Gift Cards row of the popup.
    pub fn before_gift_cards(&self) -> usize {
        self.in_order
            .iter()
            .take_while(|category| category.position <= GIFT_CARDS_AFTER_POSITION)
            .count()
    }

    /// Every category: what a gift card, or a code given no list, is valid for.
    pub fn every(&self) -> CategorySet {
        self.in_order.iter().map(Category::id).collect()
    }

    /// Parses a comma-separated list of slugs such as `music,kindle`.
    pub fn parse_list(&self, list: &str) -> Result<CategorySet, UnknownCategory> {
        list.split(',')
            .map(str::trim)
            .filter(|slug| !slug.is_empty())
            .try_fold(CategorySet::EMPTY, |set, slug| {
                let category = self.by_slug(slug).ok_or_else(|| UnknownCategory {
                    given: slug.chars().take(40).collect(),
                    known: self.slugs(self.every()),
                })?;
                Ok(set.with(category.id))
            })
    }

    /// The categories of `set` in display order (ids no longer in the table are
    /// left out).
    pub fn of(&self, set: CategorySet) -> impl Iterator<Item = &Category> {
        self.in_order
            .iter()
            .filter(move |category| set.contains(category.id))
    }

    /// "Digital Music and Kindle", "Digital Music, Kindle and Software"; a
    /// category this copy does not know yet is "another department".
    pub fn describe(&self, set: CategorySet) -> String {
        let mut labels: Vec<&str> = self.of(set).map(Category::label).collect();
        match set.ids().filter(|id| self.get(*id).is_none()).count() {
            0 => {}
            1 => labels.push("another department"),
            _ => labels.push("other departments"),
        }
        match labels.as_slice() {
            [] => String::new(),
            [only] => (*only).to_string(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        }
    }

    /// "music,kindle": the set as a `--categories` list.
    pub fn slugs(&self, set: CategorySet) -> String {
        self.of(set).map(Category::slug).collect::<Vec<_>>().join(",")
    }
}

/// A set of categories, by id. Copied freely: one bit per possible id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CategorySet(u64);

impl CategorySet {
    pub const EMPTY: CategorySet = CategorySet(0);

    pub fn contains(self, category: CategoryId) -> bool {
        self.0 & category.bit() != 0
    }

    pub fn with(self, category: CategoryId) -> CategorySet {
        CategorySet(self.0 | category.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set from its bits: bit `id - 1` for each id, the form in which the
    /// store's queries fold a row's category references into one value
    /// (`SUM(1 << (category_id - 1))`).
    pub fn from_bits(bits: i64) -> CategorySet {
        CategorySet(bits as u64)
    }

    pub fn bits(self) -> i64 {
        self.0 as i64
    }

    /// The ids in the set, lowest first.
    pub fn ids(self) -> impl Iterator<Item = CategoryId> {
        let mut left = self.0;
        std::iter::from_fn(move || {
            let lowest = left.trailing_zeros();
            (left != 0).then(|| {
                left &= left - 1;
                CategoryId(lowest as u8 + 1)
            })
        })
    }
}

impl FromIterator<CategoryId> for CategorySet {
    fn from_iter<I: IntoIterator<Item = CategoryId>>(ids: I) -> CategorySet {
        ids.into_iter().fold(CategorySet::EMPTY, CategorySet::with)
    }
}

impl fmt::Debug for CategorySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.ids().map(CategoryId::get)).finish()
    }
}

/// The four categories every store starts with (migration 0011 seeds them with
/// these ids), for tests that need a catalogue.
#[cfg(test)]
pub(crate) fn seeded() -> Categories {
    let category = |id, slug: &str, label: &str| {
        Category::new(
            CategoryId::new(id).unwrap(),
            slug.to_owned(),
            label.to_owned(),
            id,
        )
    };
    Categories::new(vec![
        category(1, "music", "Digital Music"),
        category(2, "kindle", "Kindle"),
        category(3, "video", "Instant Video"),
        category(4, "software", "Software"),
    ])
}

/// `music,kindle` as a set of the [`seeded`] categories, for tests.
#[cfg(test)]
pub(crate) fn set(list: &str) -> CategorySet {
    seeded().parse_list(list).expect("seeded category")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_parses_into_a_set() {
        let categories = seeded();
        let set = categories.parse_list("music, kindle").unwrap();
        let id = |slug| categories.by_slug(slug).unwrap().id();
        assert!(set.contains(id("music")));
        assert!(set.contains(id("kindle")));
        assert!(!set.contains(id("video")));
        assert_eq!(categories.slugs(set), "music,kindle");
        assert!(categories.parse_list("").unwrap().is_empty());
    }

    #[test]
    fn an_unknown_slug_is_refused_naming_the_known_ones() {
        let error = seeded().parse_list("music,books").unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown category \"books\": use music,kindle,video,software"
        );
        assert!(seeded().parse_list("Music").is_err());
        assert!(seeded().parse_list("gift-card").is_err());
    }

    #[test]
    fn ids_outside_what_a_set_holds_are_refused() {
        assert!(CategoryId::new(0).is_none());
        assert!(CategoryId::new(-1).is_none());
        assert!(CategoryId::new(65).is_none());
        let last = CategoryId::new(64).unwrap();
        let first = CategoryId::new(1).unwrap();
        let set = CategorySet::EMPTY.with(last).with(first);
        assert!(set.contains(last));
        assert_eq!(set.ids().collect::<Vec<_>>(), [first, last]);
        assert_eq!(CategorySet::EMPTY.ids().count(), 0);
    }

    #[test]
    fn describes_a_set_in_words_in_display_order() {
        let categories = seeded();
        assert_eq!(
            categories.describe(set("kindle,music")),
            "Digital Music and Kindle"
        );
        assert_eq!(
            categories.describe(categories.every()),
            "Digital Music, Kindle, Instant Video and Software"
        );
    }

    #[test]
    fn a_category_not_known_yet_is_named_as_another_department() {
        let later = CategoryId::new(9).unwrap();
        let categories = seeded();
        assert_eq!(
            categories.describe(set("music").with(later)),
            "Digital Music and another department"
        );
        assert_eq!(
            categories.describe(CategorySet::EMPTY.with(later).with(CategoryId::new(10).unwrap())),
            "other departments"
        );
    }

    #[test]
    fn slugs_and_labels_are_checked() {
        assert!(CategorySlug::parse("audiobooks").is_ok());
        assert!(CategorySlug::parse("e-books-2").is_ok());
        assert!(CategorySlug::parse("a--b").is_ok());
        for bad in [
            "",
            "Audiobooks",
            "audio books",
            "gift_card",
            "ünicode",
            "-pods",
            "pods-",
            &"a".repeat(33),
        ] {
            assert_eq!(CategorySlug::parse(bad), Err(MalformedSlug::Shape), "{bad:?}");
        }
        assert_eq!(
            CategorySlug::parse("gift-card"),
            Err(MalformedSlug::Reserved("gift-card"))
        );
        assert_eq!(CategorySlug::parse("all"), Err(MalformedSlug::Reserved("all")));
        assert_eq!(
            CategoryLabel::parse("  Audiobooks ").unwrap().as_str(),
            "Audiobooks"
        );
        assert!(CategoryLabel::parse("Hörbücher 📚").is_ok());
        assert!(CategoryLabel::parse("ספרים").is_ok());
        for bad in [
            "",
            "   ",
            "Tab\there",
            "\u{feff}",
            "\u{202e}skoobeiduA",
            "\u{2067}abc",
            "zero\u{200b}width",
            "---",
            &"x".repeat(41),
        ] {
            assert!(CategoryLabel::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_later_category_comes_after_gift_cards() {
        let mut list: Vec<Category> = seeded().iter().cloned().collect();
        list.push(Category::new(
            CategoryId::new(5).unwrap(),
            "audiobooks".into(),
            "Audiobooks".into(),
            5,
        ));
        let categories = Categories::new(list);
        assert_eq!(categories.before_gift_cards(), 3);
        let order: Vec<&str> = categories.iter().map(Category::slug).collect();
        assert_eq!(order, ["music", "kindle", "video", "software", "audiobooks"]);
    }
}
