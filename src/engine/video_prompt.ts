/**
 * SmolVLM2's video prompt: the text its processor writes around a clip's frames.
 *
 * Provenance: Hugging Face transformers, `models/smolvlm/video_processing_smolvlm.py`
 * (DEFAULT_VIDEO_INTRO, FRAME_TIMESTAMP_MESSAGE, DEFAULT_MEDIA_OUTTRO) and
 * `models/smolvlm/processing_smolvlm.py` (`process_video`, `_prompt_single_image`): the frame
 * count in words (num2words), the duration as Python's `str(timedelta(seconds=int(duration)))`,
 * each timestamp as `f"{int(s // 60):02d}:{int(s % 60):02d}"`, and every frame as a single
 * (never split) image: `<fake_token_around_image><global-img>` + 64 image tokens +
 * `<fake_token_around_image>`.
 *
 * @module
 */

/** What opens a frame's image tokens (one overview image, no tile rows). */
export const FRAME_OPEN = "<fake_token_around_image><global-img>";
/** What closes them. */
export const FRAME_CLOSE = "<fake_token_around_image>";

const ONES = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen",
];
const TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/**
 * `num2words(n)` (English cardinal) for 0–999, the range a frame count can take. Hand-written:
 * the npm ports of num2words differ from the Python package in exactly these details
 * ("and" after hundreds, hyphenated tens).
 */
export function numberInWords(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 999) {
    throw new RangeError(`numberInWords takes an integer 0-999, not ${n}`);
  }
  if (n < 20) return ONES[n]!;
  if (n < 100) {
    const ones = n % 10;
    return TENS[Math.floor(n / 10)]! + (ones ? `-${ONES[ones]}` : "");
  }
  const rest = n % 100;
  const hundreds = `${ONES[Math.floor(n / 100)]} hundred`;
  return rest ? `${hundreds} and ${numberInWords(rest)}` : hundreds;
}

/** Python's `str(timedelta(seconds=int(seconds)))`: `H:MM:SS` (with `N day(s), ` past a day). */
export function clockDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const days = Math.floor(total / 86400);
  const rest = total % 86400;
  const h = Math.floor(rest / 3600), m = Math.floor((rest % 3600) / 60), s = rest % 60;
  const clock = `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return days ? `${days} day${days === 1 ? "" : "s"}, ${clock}` : clock;
}

/** A frame's timestamp as the processor writes it: `MM:SS` (minutes may pass 99). */
export function frameTimestamp(seconds: number): string {
  const s = Math.max(0, seconds);
  const mm = Math.floor(s / 60), ss = Math.floor(s % 60);
  return `${String(mm).padStart(2, "0")}:${String(ss).padStart(2, "0")}`;
}

/**
 * The text that replaces a clip in the user turn, with `slot` where each frame's image tokens
 * go (the media marker for mtmd; `<image>` x 64 in the processor's own output).
 */
export function videoPromptText(
  clip: { readonly frames: readonly { readonly timestamp: number }[]; readonly duration: number },
  slot: string,
): string {
  let text = `You are provided the following series of ${
    numberInWords(clip.frames.length)
  } frames from a ${clockDuration(clip.duration)} [H:MM:SS] video.\n`;
  for (const frame of clip.frames) {
    text += `\nFrame from ${frameTimestamp(frame.timestamp)}:${FRAME_OPEN}${slot}${FRAME_CLOSE}`;
  }
  return text + "\n\n";
}
