// Photo compression in the browser: decode with the camera's orientation applied, scale the long side
// to ≤ 1600 px, re-encode as JPEG ~0.8. Drawing through a canvas drops all camera metadata (EXIF, GPS);
// the original is never stored. A 320 px thumbnail is drawn from the same canvas: the phone shows it in
// its lists, and sends it with the photo so the server need not decode the photo to make its own.

import { PHOTO, downscaleSteps, fitWithin } from './imagemath.js';

async function decode(file) {
  if (typeof createImageBitmap === 'function') {
    try {
      return await createImageBitmap(file, { imageOrientation: 'from-image' });
    } catch {
      /* fall back to <img> (older Safari rejects the options bag) */
    }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.decoding = 'async';
    img.src = url;
    await img.decode(); // <img> applies EXIF orientation by default (image-orientation: from-image)
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

function canvasOf(width, height) {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(width, height);
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  return c;
}

function toJpeg(canvas, quality) {
  if (canvas.convertToBlob) return canvas.convertToBlob({ type: PHOTO.type, quality });
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('encode failed'))), PHOTO.type, quality),
  );
}

/** The thumbnail of a drawn photo, in halving steps so that a canvas without high-quality resampling
 * does not alias. */
async function thumbnailOf(canvas, width, height) {
  let source = canvas;
  let size = { width, height };
  for (const step of downscaleSteps(size, fitWithin(width, height, PHOTO.thumbSide))) {
    const next = canvasOf(step.width, step.height);
    const ctx = next.getContext('2d', { alpha: false });
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(source, 0, 0, size.width, size.height, 0, 0, step.width, step.height);
    source = next;
    size = step;
  }
  return toJpeg(source, PHOTO.thumbQuality);
}

/** Compress an image File/Blob. Resolves to {blob, width, height, thumb} (thumb: a JPEG Blob of ≤ 320 px,
 * or null when it could not be made: the server then makes its own). */
export async function compress(file, { maxSide = PHOTO.maxSide, quality = PHOTO.quality } = {}) {
  const src = await decode(file);
  const sw = src.width || src.naturalWidth;
  const sh = src.height || src.naturalHeight;
  const target = fitWithin(sw, sh, maxSide);
  const canvas = canvasOf(target.width, target.height);
  const ctx = canvas.getContext('2d', { alpha: false });
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, target.width, target.height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(src, 0, 0, target.width, target.height);
  if (src.close) src.close();
  const blob = await toJpeg(canvas, quality);
  const thumb = await thumbnailOf(canvas, target.width, target.height).catch(() => null);
  if (canvas.width !== undefined && !(typeof OffscreenCanvas === 'function')) {
    canvas.width = 0; // release the bitmap memory early on small phones
  }
  return { blob, width: target.width, height: target.height, thumb };
}
