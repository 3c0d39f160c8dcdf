// Every test process starts with the host profile's features (all on); a test of a feature
// that is off installs its own set for its file (installFeatures, targets/node/features.ts).
import { allFeatures } from "../../src/features";
import { installFeatures } from "../../targets/node/features";

installFeatures(allFeatures());
