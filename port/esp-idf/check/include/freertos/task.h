/* Declaration-only stand-in for ESP-IDF's FreeRTOS task.h (v5.1-v5.5).
 * xTaskCreate is an inline wrapper there; a prototype checks calls the same. */
#ifndef OTA32_CHECK_FREERTOS_TASK_H
#define OTA32_CHECK_FREERTOS_TASK_H

#ifndef OTA32_CHECK_FREERTOS_H
#error "include freertos/FreeRTOS.h before freertos/task.h"
#endif

typedef struct tskTaskControlBlock *TaskHandle_t;
typedef void (*TaskFunction_t)(void *);

BaseType_t xTaskCreate(TaskFunction_t pxTaskCode, const char *const pcName,
                       const configSTACK_DEPTH_TYPE usStackDepth, void *const pvParameters,
                       UBaseType_t uxPriority, TaskHandle_t *const pxCreatedTask);
void vTaskDelay(const TickType_t xTicksToDelay);
void vTaskDelete(TaskHandle_t xTaskToDelete);
/* ESP-IDF's FreeRTOS counts stacks in bytes: the fewest bytes ever left
 * unused on the task's stack (NULL: the calling task). */
UBaseType_t uxTaskGetStackHighWaterMark(TaskHandle_t xTask);

#endif
