// Every test process starts with the host profile's features (all on); a test of a feature
// that is off installs its own set (featuresInstall) for its file.
import { allFeatures, featuresInstall } from "../../src/features";

featuresInstall(allFeatures());
