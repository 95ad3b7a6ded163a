import { DinvError } from "../errors.js";
import { dockerPersonality } from "./docker/personality.js";
import type { Personality, PersonalityName } from "./personality.js";
import { registryCachePersonality } from "./registry-cache/personality.js";

const PERSONALITIES: Partial<Record<PersonalityName, Personality>> = {
  docker: dockerPersonality,
  "registry-cache": registryCachePersonality,
};

/** Add a personality (each lives in its own folder and registers here). */
export function registerPersonality(personality: Personality): void {
  PERSONALITIES[personality.name] = personality;
}

export function personalityNamed(name: string): Personality {
  const found = PERSONALITIES[name as PersonalityName];
  if (!found) {
    throw new DinvError(`unknown personality "${name}"`, {
      hint: `use one of: ${Object.keys(PERSONALITIES).join(", ")}`,
    });
  }
  return found;
}
