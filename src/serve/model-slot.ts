import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FeatureMap } from '../features/featuremap.js';
import { prepareForInference } from '../nn/inference.js';
import { loadArtifactBytes, type LoadedArtifact } from './artifact.js';

/** A model as the server holds it: the loaded artifact plus what identifies this load. */
export interface ServedModel {
  artifact: LoadedArtifact;
  /** The artifact's feature map (a served artifact must have one: requests carry raw values). */
  featureMap: FeatureMap;
  /** Output names in order: the model's tasks (a single-task model's one task is named after its label), then its extra outputs (ESMM's pCVR). */
  tasks: readonly string[];
  /** Absolute path the artifact was read from. */
  path: string;
  /** SHA-256 of the artifact file, hex. */
  sha256: string;
  /** 1 for the first model loaded, +1 per successful reload. */
  version: number;
  /** When this model was loaded. */
  loadedAt: Date;
}

/**
 * Loads an artifact for serving (the file is read once): the container's checksum is verified by `loadArtifact`
 * (a corrupt or truncated file is refused with a message naming it), the model is rebuilt
 * in eval mode with its batch norms folded for inference (`prepareForInference`), and an artifact without a feature map is refused (the server encodes raw
 * feature values, so it needs one).
 */
export function loadServedModel(path: string, version: number): ServedModel {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new Error(`${abs}: model file not found`);
  const bytes = readFileSync(abs);
  const artifact = loadArtifactBytes(bytes, abs);
  if (artifact.featureMap === null) {
    throw new Error(`${abs}: this artifact has no feature map (trained on pre-encoded batches); the server needs one to encode raw feature values`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  artifact.model.eval();
  prepareForInference(artifact.model);
  return { artifact, featureMap: artifact.featureMap, tasks: artifact.model.outputNames(), path: abs, sha256, version, loadedAt: new Date() };
}
