import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clickConversionTasks, type TaskDef } from '../../src/features/tasks.js';

const t = (name: string, label: string, where: string | null = null, weight = 1): TaskDef => ({ name, label, weight, where });

test('clickConversionTasks finds pCTR, pCVR and (ESMM) pCTCVR among the output tasks, and nothing in unrelated task lists', () => {
  assert.deepEqual(clickConversionTasks([t('ctr', 'click'), t('cvr', 'conversion', 'click')]), {
    ctr: 'ctr',
    cvr: 'cvr',
    click: 'click',
    conversion: 'conversion',
  });
  // ESMM's outputs: the two trained tasks, then the extra output cvr (weight 0, judged where click).
  assert.deepEqual(clickConversionTasks([t('ctr', 'click'), t('ctcvr', 'conversion'), t('cvr', 'conversion', 'click', 0)]), {
    ctr: 'ctr',
    cvr: 'cvr',
    ctcvr: 'ctcvr',
    click: 'click',
    conversion: 'conversion',
  });
  assert.equal(clickConversionTasks([t('income', 'income'), t('married', 'married')]), null);
  assert.equal(clickConversionTasks([t('click', 'click')]), null);
  // A where-column that no other task predicts is a filter, not a click task.
  assert.equal(clickConversionTasks([t('a', 'a'), t('cvr', 'conversion', 'click')]), null);
});
