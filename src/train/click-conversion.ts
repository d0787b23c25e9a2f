import type { FeatureMap } from '../features/featuremap.js';
import type { RankingModel } from '../models/base.js';
import { loadDataSource } from '../data/load.js';
import { clickConversionReport, type ClickConversionReport } from '../metrics/click-conversion.js';
import { predict } from './trainer.js';

/** Which outputs of a model are pCTR, pCVR and (optionally) pCTCVR, and which label columns are click and conversion. */
export interface ClickConversionRoles {
  /** Output predicting the click; omitted for a CVR-only model. */
  ctr?: string;
  cvr: string;
  /** Output predicting click-and-conversion; omitted: pCTR·pCVR. */
  ctcvr?: string;
  click: string;
  conversion: string;
}

/**
 * Scores a labelled file with a trained model and judges it as a click → conversion model
 * (clickConversionReport): rows in file order, so `truePcvr` (the generator's p_cvr
 * column, see readTruthColumn) lines up with them.
 */
export async function evaluateClickConversion(
  model: RankingModel,
  fm: FeatureMap,
  path: string,
  roles: ClickConversionRoles,
  truePcvr?: ArrayLike<number>,
): Promise<ClickConversionReport> {
  const p = await predict(model, await loadDataSource(fm, path));
  const out = (name: string): Float32Array => {
    const v = p.probs[name];
    if (v === undefined) throw new Error(`model '${model.modelName}' has no output '${name}' (outputs: ${model.outputNames().join(', ')})`);
    return v;
  };
  const label = (name: string): Float32Array => {
    const v = p.labels.get(name);
    if (v === undefined) throw new Error(`${path}: no label column '${name}'`);
    return v;
  };
  if (truePcvr !== undefined && truePcvr.length !== out(roles.cvr).length)
    throw new Error(`${path}: ${out(roles.cvr).length} rows scored but ${truePcvr.length} true pCVR values`);
  return clickConversionReport(
    {
      ...(roles.ctr !== undefined ? { pctr: out(roles.ctr) } : {}),
      pcvr: out(roles.cvr),
      ...(roles.ctcvr !== undefined ? { pctcvr: out(roles.ctcvr) } : {}),
    },
    label(roles.click),
    label(roles.conversion),
    truePcvr,
  );
}
