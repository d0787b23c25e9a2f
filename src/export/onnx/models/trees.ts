/**
 * ONNX exports of the tree models with the ai.onnx.ml TreeEnsembleRegressor (opset 3),
 * which onnxruntime runs: every split is BRANCH_LEQ (x ≤ threshold goes to the true =
 * left child, as `leafNode`), NaN follows the split's default direction
 * (nodes_missing_value_tracks_true), float32 thresholds as trained. The tree inputs are the
 * numeric fields then the sparse ids (`treeFeatureNames`), fed as one float matrix — ids are
 * exact in float32 below 2^24 (16.7M), so larger vocabularies are refused.
 * - gbdt: logit = base margin + Σ_t leaf value (aggregate SUM).
 * - gbdt_lr: a second ensemble with one target per tree whose leaf weight is the leaf's
 *   index gives each tree's leaf; 2 + leaf is the id of field `gbdt_leaf_<t>`, and the second
 *   model's export reads those ids (its other fields are the graph's inputs).
 */
import { GbdtLrModel, GbdtModel, treeFeatureNames } from '../../../gbdt/model.js';
import { F_DEFAULT_LEFT, F_FEATURE, F_LEFT, F_RIGHT, F_THRESHOLD, F_VALUE, NODE_FIELDS, treeStarts } from '../../../gbdt/tree.js';
import { leafFieldName, parseSecondModelOptions } from '../../../gbdt/model.js';
import { resolveModelOptions } from '../../../models/registry.js';
import type { ExportContext } from '../context.js';
import type { Value } from '../graph.js';
import { modelExport } from '../model-export.js';
import { modelExportOf } from './index.js';
import * as op from '../ops.js';

const ML = 'ai.onnx.ml';

/** The tree input matrix [B, n]: numeric fields, then sparse ids cast to float. */
function treeInputs(cx: ExportContext, m: GbdtModel): Value {
  const g = cx.g;
  const cols = treeFeatureNames(cx.spec).map((name) => {
    const f = cx.field(name);
    if (f.kind === 'dense') return op.unsqueeze(g, cx.dense(name), [1]);
    if ((f.vocabSize ?? 0) > 1 << 24)
      throw new Error(`ONNX export of '${m.modelName}': field '${name}' has ${f.vocabSize} ids, more than float32 holds exactly (2^24)`);
    return op.unsqueeze(g, op.cast(g, cx.sparse(name), 'float'), [1]);
  });
  return op.concat(g, cols, 1);
}

/** The node attributes of every tree, and per leaf (tree, node, leaf index, value). */
function ensembleNodes(m: GbdtModel) {
  const nodes = m.booster().nodes;
  const starts = treeStarts(m.leafCounts);
  const a = { treeIds: [] as number[], nodeIds: [] as number[], features: [] as number[], modes: [] as string[], values: [] as number[] };
  const b = { trueIds: [] as number[], falseIds: [] as number[], missingTrue: [] as number[] };
  const leaves: Array<{ tree: number; node: number; index: number; value: number }> = [];
  m.leafCounts.forEach((_, t) => {
    for (let n = 0; n < starts[t + 1]! - starts[t]!; n++) {
      const o = (starts[t]! + n) * NODE_FIELDS;
      const feature = nodes[o + F_FEATURE]!;
      a.treeIds.push(t);
      a.nodeIds.push(n);
      if (feature < 0) {
        a.features.push(0);
        a.modes.push('LEAF');
        a.values.push(0);
        b.trueIds.push(0);
        b.falseIds.push(0);
        b.missingTrue.push(0);
        leaves.push({ tree: t, node: n, index: nodes[o + F_LEFT]!, value: nodes[o + F_VALUE]! });
      } else {
        a.features.push(feature);
        a.modes.push('BRANCH_LEQ');
        a.values.push(nodes[o + F_THRESHOLD]!);
        b.trueIds.push(nodes[o + F_LEFT]!);
        b.falseIds.push(nodes[o + F_RIGHT]!);
        b.missingTrue.push(nodes[o + F_DEFAULT_LEFT] === 1 ? 1 : 0);
      }
    }
  });
  const attrs = {
    nodes_treeids: a.treeIds,
    nodes_nodeids: a.nodeIds,
    nodes_featureids: a.features,
    nodes_modes: a.modes,
    nodes_values: { floats: a.values },
    nodes_truenodeids: b.trueIds,
    nodes_falsenodeids: b.falseIds,
    nodes_missing_value_tracks_true: b.missingTrue,
  };
  return { attrs, leaves };
}

/** gbdt: the booster's margin. */
export const gbdtExport = modelExport('gbdt', GbdtModel, (cx, m) => {
  if (m.leafCounts.length === 0) throw new Error("ONNX export of 'gbdt': the model has no trees (not trained)");
  const { attrs, leaves } = ensembleNodes(m);
  const margin = cx.g.node(
    'TreeEnsembleRegressor',
    [treeInputs(cx, m)],
    { type: 'float', shape: [-1, 1] },
    {
      ...attrs,
      target_treeids: leaves.map((l) => l.tree),
      target_nodeids: leaves.map((l) => l.node),
      target_ids: leaves.map(() => 0),
      target_weights: { floats: leaves.map((l) => l.value) },
      n_targets: 1,
      aggregate_function: 'SUM',
      post_transform: 'NONE',
      base_values: { floats: [m.booster().baseMargin] },
    },
    ML,
  );
  return op.reshape(cx.g, margin, [-1]);
});

/** gbdt_lr: leaf ids from the trees, then the second model's export on them. */
export const gbdtLrExport = modelExport('gbdt_lr', GbdtLrModel, (cx, m) => {
  const g = cx.g;
  const T = m.leafCounts.length;
  const provided = new Map<string, Value>();
  if (T > 0) {
    const { attrs, leaves } = ensembleNodes(m);
    const leafIndex = g.node(
      'TreeEnsembleRegressor',
      [treeInputs(cx, m)],
      { type: 'float', shape: [-1, T] },
      {
        ...attrs,
        target_treeids: leaves.map((l) => l.tree),
        target_nodeids: leaves.map((l) => l.node),
        target_ids: leaves.map((l) => l.tree),
        target_weights: { floats: leaves.map((l) => l.index) },
        n_targets: T,
        aggregate_function: 'SUM',
        post_transform: 'NONE',
      },
      ML,
    );
    const ids = op.add(g, op.cast(g, leafIndex, 'int64'), g.ints('two', [2], []));
    for (let t = 0; t < T; t++) provided.set(leafFieldName(t), op.gather(g, ids, g.ints('tree', [t], []), 1));
  }
  const second = m.second;
  const sub = cx.derived(m.secondSpec, secondOptions(cx, second.modelName), provided);
  const out = modelExportOf(second.modelName).emit(sub, second);
  const logit = out[m.tasks[0]!];
  if (logit === undefined || !('shape' in logit))
    throw new Error(`ONNX export of 'gbdt_lr': second model '${second.modelName}' gave no logit for '${m.tasks[0]}'`);
  return logit;
});

/** The second model's resolved options (from `second_model_options`). */
function secondOptions(cx: ExportContext, model: string): Record<string, unknown> {
  return resolveModelOptions(model, parseSecondModelOptions(cx.optionNames('secondModelOptions')));
}
