//! The demo catalog's files: for every demo product a small file of its kind,
//! made from its department, format, title and creator (SPEC §9, "Your
//! library"). The same product always gives the same bytes, so servers sharing
//! a media folder that write a missing file at once write the same file.
//!
//! A track is a few seconds of a generated melody as a WAV (16-bit PCM); an
//! album a zip of three such tracks; a book an EPUB 3; a video a few seconds
//! of a moving picture as Motion JPEG in an AVI (what VLC, mpv and ffmpeg
//! play); software a zip with a README and a small script.

use std::f32::consts::TAU;
use std::io::{self, Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::MediaDir;

/// The demo files' folder inside the media folder.
pub const DEMO_FOLDER: &str = "demo";

/// What kind of file a product delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoKind {
    Track,
    Album,
    Book,
    Video,
    Software,
}

impl DemoKind {
    /// The kind of a product of department `category` (its slug) sold as
    /// `format` ("MP3 album", "Kindle edition", "HD episode", "Download"…);
    /// `None` for a department the demo has no files for.
    pub fn of(category: &str, format: &str) -> Option<DemoKind> {
        match category {
            "music" if format.to_ascii_lowercase().contains("album") => Some(DemoKind::Album),
            "music" => Some(DemoKind::Track),
            "kindle" => Some(DemoKind::Book),
            "video" => Some(DemoKind::Video),
            "software" => Some(DemoKind::Software),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            DemoKind::Track => "wav",
            DemoKind::Album | DemoKind::Software => "zip",
            DemoKind::Book => "epub",
            DemoKind::Video => "avi",
        }
    }
}

/// What a demo file is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoProduct<'a> {
    pub id: i64,
    /// The department's slug.
    pub category: &'a str,
    pub format: &'a str,
    pub title: &'a str,
    pub creator: &'a str,
    pub description: &'a str,
}

impl<'a> From<&'a crate::store::catalog::Product> for DemoProduct<'a> {
    fn from(product: &'a crate::store::catalog::Product) -> DemoProduct<'a> {
        DemoProduct {
            id: product.id,
            category: product.category.slug(),
            format: &product.format,
            title: &product.title,
            creator: &product.creator,
            description: &product.description,
        }
    }
}

impl DemoProduct<'_> {
    pub fn kind(&self) -> Option<DemoKind> {
        DemoKind::of(self.category, self.format)
    }

    /// `demo/{id}-{slug of the title}.{ext}`, relative to the media folder;
    /// `None` when the demo has no file of its kind.
    pub fn file_name(&self) -> Option<String> {
        self.kind().map(|kind| demo_file_name(self.id, self.title, kind))
    }

    /// The file's bytes; `None` when the demo has no file of its kind.
    pub fn file(&self) -> io::Result<Option<Vec<u8>>> {
        let seed = fnv1a(self.title) ^ fnv1a(self.creator).rotate_left(17);
        Ok(Some(match self.kind() {
            None => return Ok(None),
            Some(DemoKind::Track) => wav(&melody(seed, TRACK_SECONDS))?,
            Some(DemoKind::Album) => album(self, seed)?,
            Some(DemoKind::Book) => epub(self)?,
            Some(DemoKind::Video) => avi(seed)?,
            Some(DemoKind::Software) => software(self)?,
        }))
    }
}

/// `demo/{id}-{slug}.{ext}`: the demo file's name, relative to the media folder.
pub fn demo_file_name(id: i64, title: &str, kind: DemoKind) -> String {
    format!("{DEMO_FOLDER}/{id}-{}.{}", slug(title), kind.extension())
}

/// `Salt & Static` → `salt-static`: lowercase ASCII letters and digits, every
/// other run one `-`, at most 60 bytes; `item` when nothing is left.
pub fn slug(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(60);
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "item".to_owned()
    } else {
        slug.to_owned()
    }
}

/// A product named in the store whose file should be a demo file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedDemoFile<'a> {
    pub product: DemoProduct<'a>,
    /// Its stored name (`demo/…`), relative to the media folder.
    pub media_file: &'a str,
}

/// What [`write_missing`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoFilesWritten {
    pub written: usize,
    /// There already (perhaps from another server): left alone.
    pub present: usize,
    /// Of a kind the demo has no file for, or named outside `demo/`.
    pub skipped: usize,
}

/// Makes the media folder when missing and writes each named demo file that is
/// not there yet, each whole (see [`MediaDir::put_new`]).
pub fn write_missing(media: &MediaDir, files: &[NamedDemoFile<'_>]) -> io::Result<DemoFilesWritten> {
    std::fs::create_dir_all(media.root())?;
    let mut done = DemoFilesWritten::default();
    for file in files {
        let in_demo_folder = file
            .media_file
            .strip_prefix(DEMO_FOLDER)
            .is_some_and(|rest| rest.starts_with('/'));
        if in_demo_folder && media.resolve(file.media_file).is_some() {
            done.present += 1;
            continue;
        }
        let bytes = match file.product.file()? {
            Some(bytes) if in_demo_folder => bytes,
            _ => {
                done.skipped += 1;
                continue;
            }
        };
        if media.put_new(file.media_file, &bytes)? {
            done.written += 1;
        } else {
            done.present += 1;
        }
    }
    Ok(done)
}

/// FNV-1a: a stable seed from a text (std's hasher may change between releases).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A small random-number generator (xorshift) for choosing notes and colours.
struct Dice(u64);

impl Dice {
    fn new(seed: u64) -> Dice {
        Dice(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

const SAMPLE_RATE: u32 = 16_000;
const TRACK_SECONDS: f32 = 4.0;
const ALBUM_TRACK_SECONDS: f32 = 3.0;
const ALBUM_TRACKS: u64 = 3;

/// Eight-note bars on a pentatonic scale around A3, each note a soft bell (a
/// tone and its octave, struck and fading), `seconds` long.
fn melody(seed: u64, seconds: f32) -> Vec<i16> {
    const SCALE: [i32; 8] = [0, 2, 4, 7, 9, 12, 14, 16];
    const NOTE_SECONDS: f32 = 0.5;
    let mut dice = Dice::new(seed);
    let rate = SAMPLE_RATE as f32;
    let total = (seconds * rate) as usize;
    let per_note = (NOTE_SECONDS * rate) as usize;
    let mut samples = Vec::with_capacity(total);
    let mut frequency = 0.0;
    for at in 0..total {
        let in_note = at % per_note;
        if in_note == 0 {
            let semitones = 57 + SCALE[dice.below(SCALE.len() as u64) as usize];
            frequency = 440.0 * 2f32.powf((semitones - 69) as f32 / 12.0);
        }
        let t = in_note as f32 / rate;
        let attack = (t / 0.01).min(1.0);
        let release = ((per_note - in_note) as f32 / rate / 0.02).min(1.0);
        let envelope = attack * release * (-3.0 * t).exp();
        let phase = TAU * frequency * t;
        let value = 0.7 * phase.sin() + 0.3 * (2.0 * phase).sin();
        samples.push((value * envelope * 0.5 * f32::from(i16::MAX)) as i16);
    }
    samples
}

/// Mono 16-bit PCM at [`SAMPLE_RATE`].
fn wav(samples: &[i16]) -> io::Result<Vec<u8>> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut bytes, spec).map_err(wav_error)?;
    for &sample in samples {
        writer.write_sample(sample).map_err(wav_error)?;
    }
    writer.finalize().map_err(wav_error)?;
    Ok(bytes.into_inner())
}

fn wav_error(error: hound::Error) -> io::Error {
    match error {
        hound::Error::IoError(error) => error,
        other => io::Error::other(other.to_string()),
    }
}

/// A zip written the same way every time: stored entries, a fixed date.
struct Archive(ZipWriter<Cursor<Vec<u8>>>);

impl Archive {
    fn new() -> Archive {
        Archive(ZipWriter::new(Cursor::new(Vec::new())))
    }

    fn options(mode: u32) -> SimpleFileOptions {
        let date = DateTime::from_date_and_time(2026, 1, 1, 0, 0, 0).unwrap_or_default();
        SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .last_modified_time(date)
            .system(System::Unix)
            .unix_permissions(mode)
    }

    fn add(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.add_with_mode(name, bytes, 0o644)
    }

    fn add_with_mode(&mut self, name: &str, bytes: &[u8], mode: u32) -> io::Result<()> {
        self.0
            .start_file(name, Archive::options(mode))
            .map_err(zip_error)?;
        self.0.write_all(bytes)
    }

    fn finish(self) -> io::Result<Vec<u8>> {
        Ok(self.0.finish().map_err(zip_error)?.into_inner())
    }
}

fn zip_error(error: zip::result::ZipError) -> io::Error {
    match error {
        zip::result::ZipError::Io(error) => error,
        other => io::Error::other(other.to_string()),
    }
}

/// Three short tracks, `01-{slug}.wav` to `03-{slug}.wav`.
fn album(product: &DemoProduct<'_>, seed: u64) -> io::Result<Vec<u8>> {
    let mut archive = Archive::new();
    let slug = slug(product.title);
    for track in 1..=ALBUM_TRACKS {
        let samples = melody(seed.wrapping_add(track), ALBUM_TRACK_SECONDS);
        archive.add(&format!("{track:02}-{slug}.wav"), &wav(&samples)?)?;
    }
    archive.finish()
}

/// `&`, `<`, `>`, `"` and `'` escaped for XML text and attributes; control
/// characters XML cannot hold dropped.
fn xml(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// An EPUB 3: the `mimetype` entry first and stored, the container, the
/// package (title, creator, language), its navigation and one chapter.
fn epub(product: &DemoProduct<'_>) -> io::Result<Vec<u8>> {
    let (title, creator, description) = (xml(product.title), xml(product.creator), xml(product.description));
    let id = product.id;
    let container = r#"<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"#;
    let package = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="book-id" xml:lang="en">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="book-id">urn:storecredit:demo:product:{id}</dc:identifier>
    <dc:title>{title}</dc:title>
    <dc:creator>{creator}</dc:creator>
    <dc:language>en</dc:language>
    <meta property="dcterms:modified">2026-01-01T00:00:00Z</meta>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="chapter-1" href="chapter-1.xhtml" media-type="application/xhtml+xml"/>
  </manifest>
  <spine>
    <itemref idref="chapter-1"/>
  </spine>
</package>
"#
    );
    let navigation = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="en" lang="en">
<head><title>{title}</title></head>
<body>
  <nav epub:type="toc" id="toc">
    <h1>Contents</h1>
    <ol><li><a href="chapter-1.xhtml">{title}</a></li></ol>
  </nav>
</body>
</html>
"#
    );
    let chapter = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head><title>{title}</title></head>
<body>
  <h1>{title}</h1>
  <p>by {creator}</p>
  <p>{description}</p>
  <p>A sample edition from the storecredit demo store.</p>
</body>
</html>
"#
    );
    let mut archive = Archive::new();
    archive.add("mimetype", b"application/epub+zip")?;
    archive.add("META-INF/container.xml", container.as_bytes())?;
    archive.add("OEBPS/content.opf", package.as_bytes())?;
    archive.add("OEBPS/nav.xhtml", navigation.as_bytes())?;
    archive.add("OEBPS/chapter-1.xhtml", chapter.as_bytes())?;
    archive.finish()
}

/// `README.txt` and `run.sh`, a script that says what it is and does nothing else.
fn software(product: &DemoProduct<'_>) -> io::Result<Vec<u8>> {
    let readme = format!(
        "{title}\r\nby {creator}\r\n\r\n{description}\r\n\r\n\
         This is a demo download from the storecredit demo store: nothing to install.\r\n\
         Run ./run.sh to see it say hello.\r\n",
        title = product.title,
        creator = product.creator,
        description = product.description,
    );
    // Single quotes in the script's text, each closed, escaped and reopened.
    let quoted = format!("{} by {}", product.title, product.creator).replace('\'', r"'\''");
    let script = format!(
        "#!/bin/sh\n# A demo download from the storecredit demo store.\n\
         echo 'Hello from {quoted}.'\necho 'This demo installs nothing.'\n"
    );
    let mut archive = Archive::new();
    archive.add("README.txt", readme.as_bytes())?;
    archive.add_with_mode("run.sh", script.as_bytes(), 0o755)?;
    archive.finish()
}

const VIDEO_WIDTH: usize = 128;
const VIDEO_HEIGHT: usize = 96;
const VIDEO_FPS: usize = 8;
const VIDEO_SECONDS: usize = 3;

/// Frame `n` of the picture: a slowly turning colour wash with a ball that
/// bounces across it, as RGB bytes.
fn frame(seed: u64, n: usize) -> Vec<u8> {
    let mut dice = Dice::new(seed);
    let base = [
        dice.below(160) as f32,
        dice.below(160) as f32,
        dice.below(160) as f32,
    ];
    let frames = (VIDEO_FPS * VIDEO_SECONDS) as f32;
    let progress = n as f32 / frames;
    let (w, h) = (VIDEO_WIDTH as f32, VIDEO_HEIGHT as f32);
    let ball_x = 16.0 + (w - 32.0) * progress;
    let ball_y = h * 0.55 - (progress * std::f32::consts::PI * 3.0).sin().abs() * h * 0.35;
    let columns: Vec<f32> = (0..VIDEO_WIDTH)
        .map(|x| ((x as f32 / w + progress) * TAU).sin() * 40.0)
        .collect();
    let mut rgb = Vec::with_capacity(VIDEO_WIDTH * VIDEO_HEIGHT * 3);
    for y in 0..VIDEO_HEIGHT {
        for (x, column) in columns.iter().enumerate() {
            let (fx, fy) = (x as f32, y as f32);
            let wave = column + fy / h * 50.0;
            let inside = (fx - ball_x).powi(2) + (fy - ball_y).powi(2) < 12.0 * 12.0;
            for channel in base {
                let value = if inside { 245.0 } else { channel + wave + 30.0 };
                rgb.push(value.clamp(0.0, 255.0) as u8);
            }
        }
    }
    rgb
}

/// [`VIDEO_SECONDS`] of [`frame`]s as Motion JPEG in an AVI (RIFF) file with
/// its index.
fn avi(seed: u64) -> io::Result<Vec<u8>> {
    let count = VIDEO_FPS * VIDEO_SECONDS;
    let mut frames = Vec::with_capacity(count);
    for n in 0..count {
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 60)
            .encode(
                &frame(seed, n),
                VIDEO_WIDTH as u16,
                VIDEO_HEIGHT as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .map_err(|error| io::Error::other(format!("a frame of the demo video: {error:?}")))?;
        frames.push(jpeg);
    }
    let largest = frames.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let (width, height, fps, count) = (
        VIDEO_WIDTH as u32,
        VIDEO_HEIGHT as u32,
        VIDEO_FPS as u32,
        count as u32,
    );

    let mut main_header = Vec::new();
    for value in [
        1_000_000 / fps,
        largest * fps,
        0,
        0x10, // AVIF_HASINDEX
        count,
        0,
        1,
        largest,
        width,
        height,
        0,
        0,
        0,
        0,
    ] {
        main_header.extend_from_slice(&value.to_le_bytes());
    }

    let mut stream_header = Vec::new();
    stream_header.extend_from_slice(b"vidsMJPG");
    // Flags, priority and language (two halves), initial frames, scale, rate,
    // start, length, buffer size, quality (-1: the default), sample size.
    for value in [0u32, 0, 0, 1, fps, 0, count, largest, u32::MAX, 0] {
        stream_header.extend_from_slice(&value.to_le_bytes());
    }
    for value in [0u16, 0, width as u16, height as u16] {
        stream_header.extend_from_slice(&value.to_le_bytes());
    }

    let mut format = Vec::new();
    format.extend_from_slice(&40u32.to_le_bytes());
    format.extend_from_slice(&(width as i32).to_le_bytes());
    format.extend_from_slice(&(height as i32).to_le_bytes());
    format.extend_from_slice(&1u16.to_le_bytes());
    format.extend_from_slice(&24u16.to_le_bytes());
    format.extend_from_slice(b"MJPG");
    for value in [width * height * 3, 0, 0, 0, 0] {
        format.extend_from_slice(&value.to_le_bytes());
    }

    let mut stream_list = b"strl".to_vec();
    chunk(&mut stream_list, b"strh", &stream_header);
    chunk(&mut stream_list, b"strf", &format);
    let mut header_list = b"hdrl".to_vec();
    chunk(&mut header_list, b"avih", &main_header);
    chunk(&mut header_list, b"LIST", &stream_list);

    let mut movie = b"movi".to_vec();
    let mut index = Vec::new();
    for jpeg in &frames {
        // Offsets count from the `movi` word.
        index.extend_from_slice(b"00dc");
        index.extend_from_slice(&0x10u32.to_le_bytes()); // AVIIF_KEYFRAME
        index.extend_from_slice(&(movie.len() as u32).to_le_bytes());
        index.extend_from_slice(&(jpeg.len() as u32).to_le_bytes());
        chunk(&mut movie, b"00dc", jpeg);
    }

    let mut body = b"AVI ".to_vec();
    chunk(&mut body, b"LIST", &header_list);
    chunk(&mut body, b"LIST", &movie);
    chunk(&mut body, b"idx1", &index);
    let mut file = Vec::with_capacity(body.len() + 8);
    chunk(&mut file, b"RIFF", &body);
    Ok(file)
}

/// A RIFF chunk: its id, its size, its bytes, padded to an even length.
fn chunk(out: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(id);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::store::demo::{CATALOG, CatalogEntry};

    fn product<'a>(id: i64, entry: &'a CatalogEntry) -> DemoProduct<'a> {
        let &(category, format, title, creator, description, _, _) = entry;
        DemoProduct {
            id,
            category,
            format,
            title,
            creator,
            description,
        }
    }

    fn first_of(kind: DemoKind) -> DemoProduct<'static> {
        CATALOG
            .iter()
            .enumerate()
            .map(|(index, entry)| product(index as i64 + 1, entry))
            .find(|product| product.kind() == Some(kind))
            .expect("the catalog has one")
    }

    fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut entry = archive.by_index(i).unwrap();
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).unwrap();
                (entry.name().unwrap().into_owned(), bytes)
            })
            .collect()
    }

    fn wav_seconds(bytes: &[u8]) -> f32 {
        let mut reader = hound::WavReader::new(Cursor::new(bytes)).unwrap();
        let spec = reader.spec();
        assert_eq!((spec.channels, spec.bits_per_sample), (1, 16));
        let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        assert!(
            samples.iter().any(|&s| s.unsigned_abs() > 5_000),
            "it is not silence"
        );
        samples.len() as f32 / spec.sample_rate as f32
    }

    #[test]
    fn every_demo_product_has_a_file_of_its_kind() {
        let kinds: Vec<Option<DemoKind>> = CATALOG
            .iter()
            .map(|&(category, format, ..)| DemoKind::of(category, format))
            .collect();
        assert!(kinds.iter().all(Option::is_some), "{kinds:?}");
        for kind in [
            DemoKind::Track,
            DemoKind::Album,
            DemoKind::Book,
            DemoKind::Video,
            DemoKind::Software,
        ] {
            assert!(kinds.contains(&Some(kind)), "{kind:?}");
        }
        assert_eq!(DemoKind::of("gift-card", "Gift card"), None);
    }

    #[test]
    fn a_demo_file_is_named_by_product_and_title() {
        assert_eq!(
            demo_file_name(2, "Salt & Static", DemoKind::Album),
            "demo/2-salt-static.zip"
        );
        assert_eq!(
            demo_file_name(14, "The Long Orbit, Episode 1", DemoKind::Video),
            "demo/14-the-long-orbit-episode-1.avi"
        );
        assert_eq!(demo_file_name(3, "¡Olé! ../..", DemoKind::Track), "demo/3-ol.wav");
        assert_eq!(demo_file_name(4, "…", DemoKind::Book), "demo/4-item.epub");
        assert_eq!(slug(&"x".repeat(100)).len(), 60);
    }

    #[test]
    fn a_track_is_a_few_seconds_of_wav() {
        let bytes = first_of(DemoKind::Track).file().unwrap().unwrap();
        let seconds = wav_seconds(&bytes);
        assert!((3.0..=5.0).contains(&seconds), "{seconds}");
    }

    #[test]
    fn an_album_is_a_zip_of_three_short_tracks() {
        let album = first_of(DemoKind::Album);
        let bytes = album.file().unwrap().unwrap();
        let tracks = entries(&bytes);
        let names: Vec<&str> = tracks.iter().map(|(name, _)| name.as_str()).collect();
        let slug = slug(album.title);
        assert_eq!(names, [1, 2, 3].map(|n| format!("0{n}-{slug}.wav")), "{names:?}");
        for (_, track) in &tracks {
            assert!((2.5..=5.0).contains(&wav_seconds(track)));
        }
        assert_ne!(tracks[0].1, tracks[1].1, "each track its own tune");
    }

    #[test]
    fn a_book_is_an_epub_with_its_title_creator_and_description() {
        let book = DemoProduct {
            title: "Salt & <Static>",
            ..first_of(DemoKind::Book)
        };
        let bytes = book.file().unwrap().unwrap();
        // The mimetype entry first, stored, with no extra field: readers sniff it
        // at a fixed offset.
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 0, "stored");
        assert_eq!(u16::from_le_bytes([bytes[28], bytes[29]]), 0, "no extra field");
        assert_eq!(&bytes[30..58], b"mimetypeapplication/epub+zip");

        let files = entries(&bytes);
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "mimetype",
                "META-INF/container.xml",
                "OEBPS/content.opf",
                "OEBPS/nav.xhtml",
                "OEBPS/chapter-1.xhtml"
            ]
        );
        let text =
            |name: &str| String::from_utf8(files.iter().find(|(n, _)| n == name).unwrap().1.clone()).unwrap();
        let package = text("OEBPS/content.opf");
        assert!(
            package.contains("<dc:title>Salt &amp; &lt;Static&gt;</dc:title>"),
            "{package}"
        );
        assert!(package.contains(&format!("<dc:creator>{}</dc:creator>", xml(book.creator))));
        assert!(text("OEBPS/chapter-1.xhtml").contains(&xml(book.description)));
        assert!(text("META-INF/container.xml").contains("OEBPS/content.opf"));
    }

    #[test]
    fn a_video_is_a_few_seconds_of_motion_jpeg_in_an_avi() {
        let bytes = first_of(DemoKind::Video).file().unwrap().unwrap();
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize,
            bytes.len() - 8
        );
        assert_eq!(&bytes[8..12], b"AVI ");
        let frames = bytes.windows(4).filter(|w| *w == b"00dc").count();
        assert_eq!(
            frames,
            2 * VIDEO_FPS * VIDEO_SECONDS,
            "each frame, and its index entry"
        );
        let starts = bytes
            .windows(4)
            .filter(|w| *w == [0xFF, 0xD8, 0xFF, 0xE0])
            .count();
        assert_eq!(starts, VIDEO_FPS * VIDEO_SECONDS, "a JPEG a frame");
        assert!(bytes.len() < 300_000, "{} bytes", bytes.len());
    }

    #[test]
    fn software_is_a_zip_with_a_readme_and_a_script() {
        let program = DemoProduct {
            title: "It's Fine",
            ..first_of(DemoKind::Software)
        };
        let bytes = program.file().unwrap().unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
        assert_eq!(
            archive.by_name("run.sh").unwrap().unix_mode().map(|m| m & 0o777),
            Some(0o755)
        );
        let files = entries(&bytes);
        assert_eq!(files[0].0, "README.txt");
        assert!(String::from_utf8_lossy(&files[0].1).contains("It's Fine"));
        let script = String::from_utf8_lossy(&files[1].1).into_owned();
        assert!(script.starts_with("#!/bin/sh\n"));
        assert!(script.contains(r"'Hello from It'\''s Fine by "), "{script}");
    }

    #[test]
    fn the_whole_demo_catalog_is_small_and_made_the_same_every_time() {
        let mut total = 0;
        for (index, entry) in CATALOG.iter().enumerate() {
            let product = product(index as i64 + 1, entry);
            let bytes = product.file().unwrap().unwrap();
            assert!(!bytes.is_empty());
            assert!(bytes.len() < 400_000, "{}: {} bytes", product.title, bytes.len());
            if index < 2 {
                assert_eq!(product.file().unwrap().unwrap(), bytes, "the same bytes again");
            }
            total += bytes.len();
        }
        assert!(total < 3_000_000, "{total} bytes");
    }

    #[test]
    fn missing_demo_files_are_written_and_present_ones_left_alone() {
        let folder = tempfile::tempdir().unwrap();
        let media = MediaDir::new(folder.path().join("media"));
        let track = first_of(DemoKind::Track);
        let book = first_of(DemoKind::Book);
        let (track_name, book_name) = (track.file_name().unwrap(), book.file_name().unwrap());
        let files = [
            NamedDemoFile {
                product: track,
                media_file: &track_name,
            },
            NamedDemoFile {
                product: book,
                media_file: &book_name,
            },
            NamedDemoFile {
                product: book,
                media_file: "products/1/own.epub",
            },
        ];
        std::fs::create_dir_all(folder.path().join("media/demo")).unwrap();
        std::fs::write(folder.path().join("media").join(&book_name), b"kept").unwrap();

        let done = write_missing(&media, &files).unwrap();

        assert_eq!(
            done,
            DemoFilesWritten {
                written: 1,
                present: 1,
                skipped: 1
            }
        );
        let track_path = media.resolve(&track_name).unwrap();
        assert_eq!(std::fs::read(track_path).unwrap(), track.file().unwrap().unwrap());
        assert_eq!(
            std::fs::read(media.resolve(&book_name).unwrap()).unwrap(),
            b"kept"
        );
        assert_eq!(media.resolve("products/1/own.epub"), None);
        assert_eq!(write_missing(&media, &files).unwrap().written, 0);
    }
}
