import type { Command } from 'commander';
import { registerEnvCommands } from '../environments/cli';
import { registerImagesCommands } from '../environments/image-lock/cli';
import { registerTrackingCommands } from '../runtime/tracking/cli';
import { registerPolicyCommands } from '../policies/cli';
import { registerSynthCommand } from '../stacks/synth-cli';
import { registerServeCommand } from '../runtime/inference/cli';
import { registerTrainingCommands } from '../runtime/training/cli';
import { registerTuneCommands } from '../runtime/training/tune-cli';
import { registerPromotionCommands } from '../runtime/promotion/cli';
import { registerMonitoringCommands } from '../runtime/monitoring/cli';
import { registerLocalCommands } from '../runtime/local/cli';
import { registerPipelineCommands } from '../runtime/pipelines/cli';
import { registerPipelineSubmitCommand } from '../runtime/pipelines/submit-cli';

/**
 * Each part of the project owns its subcommands and registers them here. A registrar must stay cheap:
 * import heavy modules (servers, cdk8s, onnxruntime) inside the action, so `mlops --help` stays fast.
 */
export type CommandRegistrar = (program: Command) => void;

export const commandRegistrars: CommandRegistrar[] = [
  registerEnvCommands,
  registerImagesCommands,
  registerTrackingCommands,
  registerPolicyCommands,
  registerTrainingCommands,
  registerTuneCommands,
  registerPromotionCommands,
  registerMonitoringCommands,
  registerLocalCommands,
  registerPipelineCommands,
  registerPipelineSubmitCommand,
  registerServeCommand,
  registerSynthCommand,
];
