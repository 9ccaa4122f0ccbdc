"""Constants shared by the export tests (a unique module name: tests/ has no packages)."""

#: frames the test model is trained on (96x128) and the animal's length in them
HEIGHT, WIDTH, ANIMAL = 96, 128, 19.2
#: training steps of the test model ("test" recipe, resnet_tiny): error well under 5 px
STEPS = 200
