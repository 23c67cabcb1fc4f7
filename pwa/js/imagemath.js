// Image size maths for the in-browser photo pipeline (pure, tested under Node).

// thumbSide is the server's thumbnail size (320 px on the long side): a thumbnail of exactly that size,
// sent with the photo, is kept by the server instead of decoding the photo to make one.
export const PHOTO = Object.freeze({ maxSide: 1600, quality: 0.8, type: 'image/jpeg', thumbSide: 320, thumbQuality: 0.8 });

/**
 * Size that fits within maxSide on the long side, keeping the aspect ratio and never enlarging.
 * Both sides are at least 1 px. Returns {width, height, scale}.
 */
export function fitWithin(width, height, maxSide = PHOTO.maxSide) {
  const w = Math.max(1, Math.round(Number(width) || 0));
  const h = Math.max(1, Math.round(Number(height) || 0));
  const long = Math.max(w, h);
  if (long <= maxSide) return { width: w, height: h, scale: 1 };
  const scale = maxSide / long;
  return {
    width: w >= h ? maxSide : Math.max(1, Math.round(w * scale)),
    height: h > w ? maxSide : Math.max(1, Math.round(h * scale)),
    scale,
  };
}

/** EXIF orientations 5–8 swap width and height. */
export function orientedSize(width, height, orientation = 1) {
  return orientation >= 5 && orientation <= 8 ? { width: height, height: width } : { width, height };
}

/**
 * Downscaling in steps of at most half per pass gives a sharper result on canvases without
 * high-quality resampling. Returns the list of intermediate sizes ending with the target.
 */
export function downscaleSteps(from, to) {
  const steps = [];
  let { width, height } = from;
  while (width / 2 > to.width && height / 2 > to.height) {
    width = Math.round(width / 2);
    height = Math.round(height / 2);
    steps.push({ width, height });
  }
  steps.push({ width: to.width, height: to.height });
  return steps;
}

/** Human-readable size: 1234567 → "1.2 MB". */
export function formatBytes(n) {
  const b = Math.max(0, Number(n) || 0);
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(b < 10 * 1024 ? 1 : 0)} KB`;
  return `${(b / 1024 / 1024).toFixed(1)} MB`;
}
